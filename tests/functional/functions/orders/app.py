"""A function that reads DynamoDB, with its client made once, outside the handler (the
first cold-start lesson): locally, the table lives in moto, made by [local] setup."""

import json

import boto3

table = boto3.resource("dynamodb").Table("orders")


def handler(event, context):
    item = table.get_item(Key={"id": "o-1"}).get("Item") or {}
    return {"statusCode": 200, "body": json.dumps({"status": item.get("status")})}
