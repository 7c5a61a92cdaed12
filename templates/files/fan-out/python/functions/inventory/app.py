"""inventory: reserves stock for every item of an OrderCreated event."""
import json

FUNCTION = "inventory"


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the correlation ID."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "correlationId": correlation_id, **fields}), flush=True)


def handler(event, context):
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    units = 0
    for item in order.get("items", []):
        units += item["quantity"]
        log("info", "stock reserved", correlation_id, orderId=order.get("orderId"), sku=item["sku"], quantity=item["quantity"])
    log("info", "order reserved", correlation_id, orderId=order.get("orderId"), units=units)
    return {"orderId": order.get("orderId"), "units": units}
