"""reserve-inventory: a step of the order workflow (saga.asl.json).

It gets the workflow's state as its event and returns what the workflow
stores under its ResultPath.
"""
import json


class InventoryError(Exception):
    """The error name the workflow's Catch matches (Lambda's errorType)."""


def log(level, msg, order, **fields):
    print(json.dumps({"level": level, "msg": msg, "function": "reserve-inventory", "correlationId": order.get("correlationId"),
                      "orderId": order.get("orderId"), **fields}), flush=True)


def handler(order, context):
    if order.get("simulateFailure") == "inventory":
        log("warn", "inventory failed", order, reason="out of stock")
        raise InventoryError("out of stock")
    log("info", "reserved the stock", order)
    return {"reservationId": "res-" + order.get("orderId", "")}
