"""coldbench: end-to-end load tests for AWS Lambda Function URLs.

Installed, the repository's folders are this package's parts: ``coldbench.record`` (the
shared contracts), ``coldbench.infra``, ``coldbench.locustfiles`` and
``coldbench.analysis`` (the stages); this folder itself holds the CLI, the pipeline and
the sweep, which nothing else imports.
"""
