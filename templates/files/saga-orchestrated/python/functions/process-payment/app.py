"""process-payment: a step of the order workflow (saga.asl.json).

It gets the workflow's state as its event and returns what the workflow
stores under its ResultPath.
"""
import json


class PaymentError(Exception):
    """The error name the workflow's Catch matches (Lambda's errorType)."""


def log(level, msg, order, **fields):
    print(json.dumps({"level": level, "msg": msg, "function": "process-payment", "correlationId": order.get("correlationId"),
                      "orderId": order.get("orderId"), **fields}), flush=True)


def handler(order, context):
    if order.get("simulateFailure") == "payment":
        log("warn", "payment failed", order, reason="card declined")
        raise PaymentError("card declined")
    log("info", "charged the order", order)
    return {"paymentId": "pay-" + order.get("orderId", "")}
