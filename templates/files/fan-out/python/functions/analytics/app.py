"""analytics: records an OrderCreated event for reporting."""
import json

FUNCTION = "analytics"


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
    items = order.get("items", [])
    units = sum(item["quantity"] for item in items)
    log("info", "order recorded", correlation_id, orderId=order.get("orderId"), lines=len(items), units=units,
        revenue=order.get("total"), currency=order.get("currency"), eventTime=event.get("time"))
    return {"orderId": order.get("orderId"), "units": units}
