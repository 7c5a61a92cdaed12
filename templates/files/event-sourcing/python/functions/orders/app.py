"""orders: the command side of the order aggregate.

It validates each OrderPlaced event and publishes the outcome, OrderConfirmed
or OrderRejected, as the aggregate's next version.
"""
import json
import os

import boto3

FUNCTION = "orders"
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


def validate(order):
    """Return why the order cannot be accepted, or ''."""
    items = order.get("items") or []
    if not items:
        return "the order has no items"
    total = 0.0
    for item in items:
        if not item.get("quantity", 0) > 0:
            return f"item {item.get('sku')}: quantity {item.get('quantity')} is not positive"
        total += item["quantity"] * item.get("price", 0)
    if abs(total - (order.get("total") or 0)) > 0.005:
        return f"total {order.get('total', 0):.2f} does not match the items ({total:.2f})"
    return ""


def handler(event, context):
    global _request_id
    _request_id = getattr(context, "aws_request_id", None)
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    if not order.get("orderId"):
        # Without an order id there is no aggregate to record an outcome on.
        log("error", "event ignored: detail has no orderId", correlation_id, eventId=event.get("id"))
        return
    # The aggregate id and version, derived when the event lacks them.
    aggregate_id = order.get("aggregateId") or f"order-{order['orderId']}"
    version = order.get("version") or 1
    reason = validate(order)
    detail_type = "OrderRejected" if reason else "OrderConfirmed"
    nxt = {**order, "aggregateId": aggregate_id, "version": version + 1,
           "correlationId": correlation_id, "causationId": event.get("id")}
    if reason:
        nxt["reason"] = reason
    log("info", "order decided", correlation_id, outcome=detail_type, reason=reason,
        aggregateId=aggregate_id, version=version + 1, orderId=order["orderId"])
    publish(detail_type, nxt)  # a failure is retried by the bus
