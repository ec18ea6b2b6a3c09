"""The target description: what ``up`` stood up, written to ``.coldbench/target.json``.

It is the only thing the load generator and the analysis learn about the function from
the provisioner: where the URL is, how to authenticate, where its logs and metrics are.
It never holds credentials, only the name of the profile to take them from, so that
whatever acts on the target later (recycle at an idle gap) uses the run's own.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from coldbench.record.errors import TargetError
from coldbench.record.files import write_text_atomic

STATE_DIR = Path(".coldbench")
TARGET_FILE = STATE_DIR / "target.json"


@dataclass(frozen=True)
class Target:
    kind: str  # local | aws
    url: str  # Function URL, ending in /
    auth: str  # AWS_IAM | NONE
    region: str
    function_name: str
    profile: str = ""  # AWS: the named profile whose credentials act on the function
    qualifier: str = ""  # alias when provisioned concurrency is on
    log_group: str = ""
    cloudwatch_endpoint: str = ""  # local only; empty means AWS's own endpoint
    control_url: str = ""  # local only: recycle and status endpoints
    account_id: str = ""
    function: dict[str, Any] = field(default_factory=dict)  # configuration snapshot

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError as exc:
            raise TargetError(f"target description is incomplete: {exc}") from exc


def write_target(target: Target, path: Path = TARGET_FILE) -> Path:
    """Write atomically so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, json.dumps(target.to_dict(), indent=2, sort_keys=True))


def read_target(path: Path | str | None = None) -> Target:
    """Read the target description (``$COLDBENCH_TARGET_FILE`` or .coldbench/target.json)."""
    path = Path(path or os.environ.get("COLDBENCH_TARGET_FILE") or TARGET_FILE)
    try:
        return Target.from_dict(json.loads(path.read_text()))
    except FileNotFoundError as exc:
        raise TargetError(f"no target at {path}: run `coldbench up` or `coldbench local`") from exc
    except json.JSONDecodeError as exc:
        raise TargetError(f"{path} is not valid JSON: {exc}") from exc
