"""Function names as Lambda accepts them: a name, ``name:qualifier``, a partial ARN
(``123456789012:function:name``) or a full ARN, each with an optional qualifier."""

from __future__ import annotations


def parse_function_name(value: str) -> tuple[str, str]:
    """(name, qualifier) of any form Lambda accepts; the qualifier may be empty."""
    parts = value.split(":")
    if "function" in parts:
        rest = parts[parts.index("function") + 1 :]
        return rest[0], rest[1] if len(rest) > 1 else ""
    if len(parts) == 2:
        return parts[0], parts[1]
    return value, ""
