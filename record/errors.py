"""Errors raised by the shared contracts; the base of every coldbench error.

Exception tree::

    ColdbenchError            base of every error coldbench raises on purpose
    ├── ConfigError           a config key or value is invalid (names the key)
    ├── TargetError           the target description is missing, unreadable or dead
    └── RunDirError           a run directory is missing or malformed

Stage packages (``infra``, ``analysis``) and the CLI derive their own trees from
``ColdbenchError``, so the CLI reports any of them the same way.
"""


class ColdbenchError(Exception):
    """Base of every error coldbench raises on purpose."""


class ConfigError(ColdbenchError):
    """A config key or value is invalid.

    Attributes:
        key: dotted name of the offending key, e.g. ``load.users``.
    """

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"config {key}: {message}")


class TargetError(ColdbenchError):
    """The target description is missing or cannot be read."""


class RunDirError(ColdbenchError):
    """A run directory is missing or malformed."""
