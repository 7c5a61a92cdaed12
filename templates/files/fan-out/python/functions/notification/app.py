"""notification: tells the customer that their order was received."""
import json

FUNCTION = "notification"


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the correlation ID."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "correlationId": correlation_id, **fields}), flush=True)


def handler(event, context):
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    to = order.get("email") or order.get("customerId")
    log("info", "confirmation sent", correlation_id, orderId=order.get("orderId"), to=to, channel="email")
    return {"orderId": order.get("orderId"), "to": to}
