"""inventory: the saga's second step.

It reserves the stock once the payment is captured (PaymentCompleted ->
InventoryReserved or InventoryReservationFailed) and releases it when
shipment fails (ShipmentFailed -> InventoryReleased, a compensation).
"""
import json
import os

import boto3

FUNCTION = "inventory"
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
    if detail_type == "PaymentCompleted":
        if order.get("simulateFailure") == "inventory":
            nxt["reason"] = "out of stock"
            log("warn", "reservation failed", correlation_id, orderId=order.get("orderId"), reason=nxt["reason"])
            publish("InventoryReservationFailed", nxt)
            return
        nxt["reservationId"] = f"res-{order.get('orderId')}"
        for item in order.get("items", []):
            log("info", "stock reserved", correlation_id, orderId=order.get("orderId"), sku=item.get("sku"), quantity=item.get("quantity"))
        publish("InventoryReserved", nxt)
    elif detail_type == "ShipmentFailed":
        for item in order.get("items", []):
            log("info", "stock released (compensation)", correlation_id, orderId=order.get("orderId"), sku=item.get("sku"),
                quantity=item.get("quantity"), reservationId=order.get("reservationId"))
        publish("InventoryReleased", nxt)
    else:
        log("warn", "event ignored", correlation_id, detailType=detail_type)
