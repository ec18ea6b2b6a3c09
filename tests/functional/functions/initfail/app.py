"""Test function whose init fails."""

raise ImportError("init failed on purpose")


def handler(event, context):  # pragma: no cover - never reached
    return {}
