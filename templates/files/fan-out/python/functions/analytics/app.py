"""analytics: records an OrderCreated event for reporting."""
import json

FUNCTION = "analytics"


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the correlation ID."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "correlationId": correlation_id, **fields}), flush=True)


def handler(event, context):
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    items = order.get("items", [])
    units = sum(item["quantity"] for item in items)
    log("info", "order recorded", correlation_id, orderId=order.get("orderId"), lines=len(items), units=units,
        revenue=order.get("total"), currency=order.get("currency"), eventTime=event.get("time"))
    return {"orderId": order.get("orderId"), "units": units}
