"""[local] setup for the orders function: the table and the item it reads."""

import boto3

dynamodb = boto3.client("dynamodb")
dynamodb.create_table(
    TableName="orders",
    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
dynamodb.put_item(TableName="orders", Item={"id": {"S": "o-1"}, "status": {"S": "shipped"}})
