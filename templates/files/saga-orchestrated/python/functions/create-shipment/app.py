"""create-shipment: a step of the order workflow (saga.asl.json).

It gets the workflow's state as its event and returns what the workflow
stores under its ResultPath.
"""
import json


class ShipmentError(Exception):
    """The error name the workflow's Catch matches (Lambda's errorType)."""


def log(level, msg, order, **fields):
    print(json.dumps({"level": level, "msg": msg, "function": "create-shipment", "correlationId": order.get("correlationId"),
                      "orderId": order.get("orderId"), **fields}), flush=True)


def handler(order, context):
    if order.get("simulateFailure") == "shipment":
        log("warn", "shipment failed", order, reason="no carrier available")
        raise ShipmentError("no carrier available")
    log("info", "scheduled the shipment", order)
    return {"trackingId": "trk-" + order.get("orderId", "")}
