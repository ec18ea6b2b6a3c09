"""A handler with known import costs: slow_a (300 ms, importing slow_b: 150 ms) at init,
100 ms of its own top-level work, and lazy_c (50 ms) on the first invocation."""

import time

import slow_a

time.sleep(0.1)  # the module's own top-level work


def handler(event, context):
    import lazy_c

    return {"statusCode": 200, "body": f"{slow_a.NAME} {lazy_c.NAME}"}
