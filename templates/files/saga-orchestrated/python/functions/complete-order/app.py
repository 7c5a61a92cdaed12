"""complete-order: a step of the order workflow (saga.asl.json).

It gets the workflow's state as its event and returns what the workflow
stores under its ResultPath.
"""
import json


def log(level, msg, order, **fields):
    print(json.dumps({"level": level, "msg": msg, "function": "complete-order", "correlationId": order.get("correlationId"),
                      "orderId": order.get("orderId"), **fields}), flush=True)


def handler(order, context):
    log("info", "completed the order", order)
    return {"status": "COMPLETED", "orderId": order.get("orderId", "")}
