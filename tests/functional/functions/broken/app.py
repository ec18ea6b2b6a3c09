"""A function whose handler raises: the console names ValueError."""


def handler(event, context):
    raise ValueError("the order id is missing")
