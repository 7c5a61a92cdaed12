"""notification: tells the customer that their order was received."""
import json

import azure.functions as func

FUNCTION = "notification"
app = func.FunctionApp()


# The running invocation's event id (an instance runs one at a time).
_request_id = None


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the request and correlation IDs."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "requestId": _request_id,
                      "correlationId": correlation_id, **fields}), flush=True)


@app.event_grid_trigger(arg_name="grid_event")
def notification(grid_event: func.EventGridEvent):
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
    to = order.get("email") or order.get("customerId")
    log("info", "confirmation sent", correlation_id, orderId=order.get("orderId"), to=to, channel="email")
    return {"orderId": order.get("orderId"), "to": to}
