"""A real-world shaped API function: Powertools for logging and routing, pydantic for
validation, DynamoDB through boto3, and requests for a downstream call it rarely makes.

Its clients and models are built once, at init (outside the handler): the classic
cold-start trade, which coldbench measures (`coldbench run` with this folder's
coldbench.toml). Locally the table lives in moto, made by setup.py.
"""

import os

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver
from coldbench_probe import probe
from pydantic import BaseModel

logger = Logger(service="orders")
app = LambdaFunctionUrlResolver()
table = boto3.resource("dynamodb").Table(os.environ.get("TABLE", "orders"))


class Order(BaseModel):
    id: str
    status: str
    total_cents: int


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> dict:
    item = table.get_item(Key={"id": order_id}).get("Item")
    if item is None:
        return {"error": f"no order {order_id}"}
    return Order(
        id=item["id"], status=item["status"], total_cents=int(item["total_cents"])
    ).model_dump()


@app.get("/")
def health() -> dict:
    return {"ok": True}


@probe
@logger.inject_lambda_context
def handler(event, context):
    return app.resolve(event, context)
