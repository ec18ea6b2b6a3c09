"""Errors raised by ``analysis``.

Exception tree::

    ColdbenchError (coldbench.record.errors)
    └── AnalysisError          base of analysis errors
        ├── CollectError       CloudWatch could not be read (names the call)
        └── NoDataError        a run holds no request rows to analyse
"""

from coldbench.record.errors import ColdbenchError


class AnalysisError(ColdbenchError):
    """Base of analysis errors."""


class CollectError(AnalysisError):
    """CloudWatch Logs or metrics could not be read."""


class NoDataError(AnalysisError):
    """A run directory has no request rows."""
