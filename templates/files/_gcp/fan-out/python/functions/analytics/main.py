"""analytics: records an OrderCreated event for reporting."""
import json

import functions_framework

FUNCTION = "analytics"


# The running invocation's event id (an instance runs one at a time).
_request_id = None


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the request and correlation IDs."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "requestId": _request_id,
                      "correlationId": correlation_id, **fields}), flush=True)


@functions_framework.cloud_event
def analytics(cloud_event):
    """The CloudEvent's data is the event as the bus delivers it: an envelope
    with id, source, detail-type and the order as detail."""
    global _request_id
    _request_id = cloud_event["id"]
    event = cloud_event.data or {}
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    items = order.get("items", [])
    units = sum(item["quantity"] for item in items)
    log("info", "order recorded", correlation_id, orderId=order.get("orderId"), lines=len(items), units=units,
        revenue=order.get("total"), currency=order.get("currency"), eventTime=event.get("time"))
    return {"orderId": order.get("orderId"), "units": units}
