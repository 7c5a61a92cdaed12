"""payment: the saga's first step.

It charges the order (OrderCreated -> PaymentCompleted or PaymentFailed) and,
as the last compensation, refunds it when a later step failed
(InventoryReleased or InventoryReservationFailed -> PaymentRefunded).
"""
import json
import os

import boto3

FUNCTION = "payment"
# Endpoint, region and credentials come from the environment: on evcli's
# local provider AWS_ENDPOINT_URL_EVENTBRIDGE points at evcli.
events = boto3.client("events")


# The running invocation's request ID (a Lambda instance runs one at a time).
_request_id = None


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the request and correlation IDs."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "requestId": _request_id,
                      "correlationId": correlation_id, **fields}), flush=True)


def publish(detail_type, detail):
    """Put one event on the bus named by EVENT_BUS_NAME."""
    out = events.put_events(Entries=[{
        "EventBusName": os.environ["EVENT_BUS_NAME"],
        "Source": os.environ["EVENT_SOURCE"],
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
    }])
    if out.get("FailedEntryCount"):
        e = out["Entries"][0]
        raise RuntimeError(f"publish {detail_type}: {e.get('ErrorCode')}: {e.get('ErrorMessage')}")


def handler(event, context):
    global _request_id
    _request_id = getattr(context, "aws_request_id", None)
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    detail_type = event.get("detail-type")
    # The next event carries the order on, with the same correlation ID.
    nxt = {**order, "correlationId": correlation_id, "causationId": event.get("id")}
    if detail_type == "OrderCreated":
        if order.get("simulateFailure") == "payment" or not (order.get("total") or 0) > 0:
            nxt["reason"] = "card declined"
            log("warn", "payment failed", correlation_id, orderId=order.get("orderId"), amount=order.get("total"), reason=nxt["reason"])
            publish("PaymentFailed", nxt)
            return
        nxt["paymentId"] = f"pay-{order.get('orderId')}"
        log("info", "payment captured", correlation_id, orderId=order.get("orderId"), amount=order.get("total"),
            currency=order.get("currency"), paymentId=nxt["paymentId"])
        publish("PaymentCompleted", nxt)
    elif detail_type in ("InventoryReleased", "InventoryReservationFailed"):
        log("info", "payment refunded (compensation)", correlation_id, orderId=order.get("orderId"),
            paymentId=order.get("paymentId"), amount=order.get("total"), because=detail_type)
        publish("PaymentRefunded", nxt)
    else:
        log("warn", "event ignored", correlation_id, detailType=detail_type)
