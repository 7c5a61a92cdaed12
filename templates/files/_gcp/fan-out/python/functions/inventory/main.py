"""inventory: reserves stock for every item of an OrderCreated event."""
import json

import functions_framework

FUNCTION = "inventory"


# The running invocation's event id (an instance runs one at a time).
_request_id = None


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the request and correlation IDs."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "requestId": _request_id,
                      "correlationId": correlation_id, **fields}), flush=True)


@functions_framework.cloud_event
def inventory(cloud_event):
    """The CloudEvent's data is the event as the bus delivers it: an envelope
    with id, source, detail-type and the order as detail."""
    global _request_id
    _request_id = cloud_event["id"]
    event = cloud_event.data or {}
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    units = 0
    for item in order.get("items", []):
        units += item["quantity"]
        log("info", "stock reserved", correlation_id, orderId=order.get("orderId"), sku=item["sku"], quantity=item["quantity"])
    log("info", "order reserved", correlation_id, orderId=order.get("orderId"), units=units)
    return {"orderId": order.get("orderId"), "units": units}
