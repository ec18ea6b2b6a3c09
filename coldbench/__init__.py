"""coldbench: end-to-end load tests for AWS Lambda Function URLs.

This package holds the contracts every stage shares (config, target description, run
directory) and the CLI that chains the stages; stage logic lives in ``infra``,
``locustfiles`` and ``analysis``.
"""

__version__ = "0.1.0"
