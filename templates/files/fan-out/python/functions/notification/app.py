"""notification: tells the customer that their order was received."""
import json

FUNCTION = "notification"


# The running invocation's request ID (a Lambda instance runs one at a time).
_request_id = None


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the request and correlation IDs."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "requestId": _request_id,
                      "correlationId": correlation_id, **fields}), flush=True)


def handler(event, context):
    global _request_id
    _request_id = getattr(context, "aws_request_id", None)
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    to = order.get("email") or order.get("customerId")
    log("info", "confirmation sent", correlation_id, orderId=order.get("orderId"), to=to, channel="email")
    return {"orderId": order.get("orderId"), "to": to}
