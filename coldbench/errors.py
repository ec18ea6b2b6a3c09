"""Errors raised by the top floor (the CLI, the pipeline, the sweep).

Exception tree::

    ColdbenchError (coldbench.record.errors)
    └── PipelineError         a pipeline stage could not be completed
"""

from coldbench.record.errors import ColdbenchError


class PipelineError(ColdbenchError):
    """A stage of the pipeline could not be completed."""
