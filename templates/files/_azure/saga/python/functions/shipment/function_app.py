"""shipment: the saga's last step.

It schedules the delivery once the stock is reserved (InventoryReserved ->
ShipmentScheduled), or fails (-> ShipmentFailed), which starts the
compensations.
"""
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone

import azure.functions as func

FUNCTION = "shipment"
app = func.FunctionApp()


# The running invocation's event id (an instance runs one at a time).
_request_id = None


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the request and correlation IDs."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "requestId": _request_id,
                      "correlationId": correlation_id, **fields}), flush=True)


def publish(detail_type, detail):
    """Put one event on the bus: a CloudEvent (source EVENT_SOURCE, type the
    detail-type, data the detail) sent to the bus's Event Grid topic through
    its data plane, EVENTGRID_TOPIC_ENDPOINT
    (https://<topic>.<region>-1.eventgrid.azure.net/api/events). It signs
    with the topic key EVENTGRID_TOPIC_KEY when set, else with a token of the
    app's managed identity (which needs the EventGrid Data Sender role on the
    topic). On evcli's local provider both variables point at evcli's local
    bus."""
    endpoint = os.environ.get("EVENTGRID_TOPIC_ENDPOINT")
    if not endpoint:
        raise RuntimeError("EVENTGRID_TOPIC_ENDPOINT is not set: set it to the bus topic's endpoint "
                           "(az eventgrid topic show --query endpoint)")
    headers = {"Content-Type": "application/cloudevents-batch+json; charset=utf-8"}
    key = os.environ.get("EVENTGRID_TOPIC_KEY")
    if key:
        headers["aeg-sas-key"] = key
    else:
        headers["Authorization"] = "Bearer " + _access_token()
    body = json.dumps([{
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": os.environ["EVENT_SOURCE"], "type": detail_type,
        "time": datetime.now(timezone.utc).isoformat(), "datacontenttype": "application/json", "data": detail,
    }]).encode()
    req = urllib.request.Request(f"{endpoint}?api-version=2018-01-01", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"publish {detail_type}: {e.code} {e.read().decode(errors='replace')}") from None


def _access_token():
    """A token for Event Grid of the app's managed identity, from the identity
    endpoint App Service gives every app with one."""
    url, secret = os.environ.get("IDENTITY_ENDPOINT"), os.environ.get("IDENTITY_HEADER")
    if not url or not secret:
        raise RuntimeError("no EVENTGRID_TOPIC_KEY and no managed identity (IDENTITY_ENDPOINT) to publish with")
    query = urllib.parse.urlencode({"resource": "https://eventgrid.azure.net", "api-version": "2019-08-01"})
    req = urllib.request.Request(f"{url}?{query}", headers={"X-IDENTITY-HEADER": secret})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["access_token"]


@app.event_grid_trigger(arg_name="grid_event")
def shipment(grid_event: func.EventGridEvent):
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
    detail_type = event.get("detail-type")
    if detail_type != "InventoryReserved":
        log("warn", "event ignored", correlation_id, detailType=detail_type)
        return
    # The next event carries the order on, with the same correlation ID.
    nxt = {**order, "correlationId": correlation_id, "causationId": event.get("id")}
    if order.get("simulateFailure") == "shipment":
        nxt["reason"] = "no carrier available"
        log("warn", "shipment failed", correlation_id, orderId=order.get("orderId"), reason=nxt["reason"])
        publish("ShipmentFailed", nxt)
        return
    nxt["shipmentId"] = f"shp-{order.get('orderId')}"
    log("info", "shipment scheduled", correlation_id, orderId=order.get("orderId"), shipmentId=nxt["shipmentId"])
    publish("ShipmentScheduled", nxt)
