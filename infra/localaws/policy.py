"""Lambda resource-policy statements, as ``AddPermission`` writes them, and the rule a
public (``NONE``) Function URL is held to.

Since October 2025 a Function URL with auth type ``NONE`` answers only if the resource
policy allows both ``lambda:InvokeFunctionUrl`` (with ``lambda:FunctionUrlAuthType`` NONE)
and ``lambda:InvokeFunction`` to everyone; otherwise it answers 403.
"""

from __future__ import annotations

from typing import Any

from coldbench.infra.errors import ApiError


def statement(function_arn: str, params: dict[str, Any]) -> dict[str, Any]:
    """The statement ``AddPermission`` adds, in the form ``GetPolicy`` returns it."""
    action = params["Action"]
    if not action.startswith("lambda:"):
        raise ApiError(
            "InvalidParameterValueException", f"Action {action!r} is not a lambda: action"
        )
    principal_text = params["Principal"]
    if principal_text == "*":
        principal: Any = "*"
    elif principal_text.endswith(".amazonaws.com"):
        principal = {"Service": principal_text}
    elif principal_text.isdigit():
        principal = {"AWS": f"arn:aws:iam::{principal_text}:root"}
    else:
        principal = {"AWS": principal_text}
    condition: dict[str, dict[str, str]] = {}
    if params.get("SourceArn"):
        condition.setdefault("ArnLike", {})["AWS:SourceArn"] = params["SourceArn"]
    if params.get("SourceAccount"):
        condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = params["SourceAccount"]
    if params.get("PrincipalOrgID"):
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = params["PrincipalOrgID"]
    if params.get("FunctionUrlAuthType"):
        if action not in ("lambda:InvokeFunctionUrl", "lambda:*"):
            raise ApiError(
                "InvalidParameterValueException",
                "FunctionUrlAuthType is only supported for lambda:InvokeFunctionUrl",
            )
        condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = params[
            "FunctionUrlAuthType"
        ]
    if params.get("InvokedViaFunctionUrl"):
        if action not in ("lambda:InvokeFunction", "lambda:*"):
            raise ApiError(
                "InvalidParameterValueException",
                "InvokedViaFunctionUrl is only supported for lambda:InvokeFunction",
            )
        condition.setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = "true"
    found = {
        "Sid": params["StatementId"],
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": function_arn,
    }
    if condition:
        found["Condition"] = condition
    return found


def _public(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    return statement.get("Effect") == "Allow" and (principal == "*" or principal == {"AWS": "*"})


def allows_public_url(statements: list[dict[str, Any]]) -> bool:
    """Whether a ``NONE`` Function URL may answer: both permissions granted to everyone."""
    url_ok = invoke_ok = False
    for s in filter(_public, statements):
        conditions = s.get("Condition") or {}
        auth_type = (conditions.get("StringEquals") or {}).get("lambda:FunctionUrlAuthType")
        if s["Action"] in ("lambda:InvokeFunctionUrl", "lambda:*") and auth_type in (None, "NONE"):
            url_ok = True
        if s["Action"] in ("lambda:InvokeFunction", "lambda:*"):
            via_url = (conditions.get("Bool") or {}).get("lambda:InvokedViaFunctionUrl")
            if via_url in (None, "true"):
                invoke_ok = True
    return url_ok and invoke_ok
