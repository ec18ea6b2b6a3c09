"""Imports a package it does not ship (it is in coldbench's virtualenv, not Lambda's)."""

import pandas  # noqa: F401


def handler(event, context):
    return {"statusCode": 200, "body": "pandas was importable"}
