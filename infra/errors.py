"""Errors raised by ``infra`` (packaging, the AWS provisioner, the local Lambda).

Exception tree::

    ColdbenchError (coldbench.record.errors)
    └── InfraError              base of infra errors
        ├── PackagingError      a function source cannot be packaged (names the path)
        ├── ProvisionError      AWS refused or a resource did not converge (names it)
        │   └── PreflightError  the account cannot run the plan (credentials, limits)
        ├── WaitTimeout         a bounded wait ran out (names what it waited for)
        ├── LocalLambdaError    the local Lambda could not start or serve
        └── ApiError            `local-aws` refuses an API call: an AWS error code and
                                message, serialised to the caller as AWS would
"""

from coldbench.record.errors import ColdbenchError


class InfraError(ColdbenchError):
    """Base of infra errors."""


class PackagingError(InfraError):
    """A function source cannot be packaged."""


class ProvisionError(InfraError):
    """AWS refused a call or a resource did not converge."""


class PreflightError(ProvisionError):
    """The account or credentials cannot run the planned resources."""


class WaitTimeout(InfraError):
    """A bounded wait ran out."""


class LocalLambdaError(InfraError):
    """The local Lambda could not start or serve."""


class ApiError(InfraError):
    """An AWS API error that ``coldbench local-aws`` answers with (code and message as
    AWS gives them; the HTTP status from the service model unless given)."""

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
