"""Force the next invocations of a target to be cold.

Local: the local Lambda's control endpoint retires every environment. AWS: the
provisioner bumps an environment-variable nonce and waits for the update.
"""

from __future__ import annotations

import json
import urllib.request

from coldbench.infra.aws.manage import recycle_function
from coldbench.infra.errors import LocalLambdaError
from coldbench.record.target import Target


def recycle(target: Target) -> int:
    """Retire the target's environments; returns how many were retired (local)."""
    if target.kind == "local":
        request = urllib.request.Request(target.control_url + "recycle", method="POST", data=b"")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(json.load(response)["retired"])
        except OSError as exc:
            raise LocalLambdaError(
                f"the local target {target.url} did not answer the recycle ({exc}): is it running?"
            ) from exc
    recycle_function(target)
    return 0
