"""[local] setup: the orders table and a few orders, in the local moto."""

import boto3

dynamodb = boto3.client("dynamodb")
dynamodb.create_table(
    TableName="orders",
    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
for number, status in enumerate(["placed", "paid", "shipped"], 1):
    dynamodb.put_item(
        TableName="orders",
        Item={"id": {"S": f"o-{number}"}, "status": {"S": status}, "total_cents": {"N": "1999"}},
    )
