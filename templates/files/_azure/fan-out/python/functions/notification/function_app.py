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
    """An Event Grid trigger (CloudEvents schema): the event's data is the event
    as the bus delivers it, an envelope with id, source, detail-type and the
    order as detail."""
    global _request_id
    _request_id = grid_event.id
    event = grid_event.get_json() or {}
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    to = order.get("email") or order.get("customerId")
    log("info", "confirmation sent", correlation_id, orderId=order.get("orderId"), to=to, channel="email")
    return {"orderId": order.get("orderId"), "to": to}
