"""Imports only what Lambda's Python runtime provides: it works."""

import json
import sys

import boto3
import botocore
import dateutil
import jmespath
import s3transfer
import urllib3


def handler(event, context):
    names = [m.__name__ for m in (boto3, botocore, dateutil, jmespath, s3transfer, urllib3)]
    visible = [p for p in sys.path if "site-packages" in p]
    return {"statusCode": 200, "body": json.dumps({"imported": names, "site": visible})}
