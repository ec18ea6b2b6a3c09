"""The orders service as it is commonly written (the ``naive`` variant).

What makes it slow: every heavy import at module top whether a request needs it or not
(boto3, requests), SDK clients created inside the handler on every call, and a fat
package (``vendor.txt`` bundles requests and its dependencies into the zip). It calls
no AWS service: importing, creating clients and serialising is the cost shown.

Routes: ``GET /orders/<id>`` (the common path), ``POST /orders`` (validate and
serialise for DynamoDB), ``GET /orders/<id>/receipt`` (presign an S3 URL, rare).
"""

import datetime
import decimal
import json
import uuid

import boto3
import requests  # noqa: F401  (imported "just in case", as such code often does)
from boto3.dynamodb.types import TypeSerializer
from coldbench_probe import mark_init_done, probe

CATALOG = {str(i): {"sku": f"SKU-{i:04d}", "price": decimal.Decimal(i) / 4} for i in range(1, 200)}


def _json_default(value):
    if isinstance(value, decimal.Decimal):
        return float(value)
    return str(value)


@probe
def handler(event, context):
    # Clients built on every invocation: the usual anti-pattern.
    dynamodb = boto3.client("dynamodb")
    s3 = boto3.client("s3")
    path = event.get("rawPath", "/")
    method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
    parts = [p for p in path.split("/") if p]
    if method == "POST":
        order = json.loads(event.get("body") or "{}")
        order.setdefault("id", str(uuid.uuid4()))
        order["created"] = datetime.datetime.now(datetime.UTC).isoformat()
        item = {k: TypeSerializer().serialize(v) for k, v in order.items()}
        return {
            "statusCode": 201,
            "body": json.dumps({"item": item, "table": dynamodb.meta.service_model.service_name}),
        }
    if len(parts) >= 3 and parts[2] == "receipt":
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "receipts", "Key": parts[1]}, ExpiresIn=60
        )
        return {"statusCode": 200, "body": json.dumps({"receipt": url.split("?")[0]})}
    order_id = parts[1] if len(parts) > 1 else "1"
    order = CATALOG.get(order_id)
    if order is None:
        return {"statusCode": 404, "body": json.dumps({"error": "no such order"})}
    return {"statusCode": 200, "body": json.dumps({"id": order_id, **order}, default=_json_default)}


mark_init_done()
