"""inventory: reserves stock for every item of an OrderCreated event."""
import json

import azure.functions as func

FUNCTION = "inventory"
app = func.FunctionApp()


# The running invocation's event id (an instance runs one at a time).
_request_id = None


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the request and correlation IDs."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "requestId": _request_id,
                      "correlationId": correlation_id, **fields}), flush=True)


@app.event_grid_trigger(arg_name="grid_event")
def inventory(grid_event: func.EventGridEvent):
    """An Event Grid trigger (CloudEvents schema): the CloudEvent's type is the
    bus event's detail-type and its data the order (the detail), as evcli send
    and the other functions publish them; the handler works on the event as
    the bus knows it (id, source, detail-type, time, detail)."""
    global _request_id
    _request_id = grid_event.id
    event = {
        "id": grid_event.id, "source": grid_event.topic, "detail-type": grid_event.event_type,
        "time": grid_event.event_time.isoformat() if grid_event.event_time else None,
        "detail": grid_event.get_json() or {},
    }
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    units = 0
    for item in order.get("items", []):
        units += item["quantity"]
        log("info", "stock reserved", correlation_id, orderId=order.get("orderId"), sku=item["sku"], quantity=item["quantity"])
    log("info", "order reserved", correlation_id, orderId=order.get("orderId"), units=units)
    return {"orderId": order.get("orderId"), "units": units}
