"""shipment: the saga's last step.

It schedules the delivery once the stock is reserved (InventoryReserved ->
ShipmentScheduled), or fails (-> ShipmentFailed), which starts the
compensations.
"""
import base64
import json
import os
import urllib.error
import urllib.request

import functions_framework

FUNCTION = "shipment"


# The running invocation's event id (an instance runs one at a time).
_request_id = None


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the request and correlation IDs."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "requestId": _request_id,
                      "correlationId": correlation_id, **fields}), flush=True)


def publish(detail_type, detail):
    """Put one event on the bus: a message on the Pub/Sub topic PUBSUB_TOPIC
    (projects/P/topics/T), its data the detail, its attributes the event's
    source (EVENT_SOURCE) and type. In Cloud Functions it calls the Pub/Sub
    REST API with the function's service-account token; on evcli's local
    provider PUBSUB_EMULATOR_HOST points at evcli's local bus."""
    emulator = os.environ.get("PUBSUB_EMULATOR_HOST")
    headers = {"Content-Type": "application/json"}
    if not emulator:
        headers["Authorization"] = "Bearer " + _access_token()
    base = f"http://{emulator}" if emulator else "https://pubsub.googleapis.com"
    body = json.dumps({"messages": [{
        "data": base64.b64encode(json.dumps(detail).encode()).decode(),
        "attributes": {"source": os.environ["EVENT_SOURCE"], "type": detail_type},
    }]}).encode()
    req = urllib.request.Request(f"{base}/v1/{os.environ['PUBSUB_TOPIC']}:publish", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"publish {detail_type}: {e.code} {e.read().decode(errors='replace')}") from None


def _access_token():
    """The function's service-account token, from the metadata server."""
    req = urllib.request.Request(
        "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token",
        headers={"Metadata-Flavor": "Google"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["access_token"]


@functions_framework.cloud_event
def shipment(cloud_event):
    """The CloudEvent's data is the event as the bus delivers it: an envelope
    with id, source, detail-type and the order as detail."""
    global _request_id
    _request_id = cloud_event["id"]
    event = cloud_event.data or {}
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
