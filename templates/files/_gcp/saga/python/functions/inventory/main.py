"""inventory: the saga's second step.

It reserves the stock once the payment is captured (PaymentCompleted ->
InventoryReserved or InventoryReservationFailed) and releases it when
shipment fails (ShipmentFailed -> InventoryReleased, a compensation).
"""
import base64
import json
import os
import urllib.error
import urllib.request

import functions_framework

FUNCTION = "inventory"


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
def inventory(cloud_event):
    """The CloudEvent's data is the event as the bus delivers it: an envelope
    with id, source, detail-type and the order as detail."""
    global _request_id
    _request_id = cloud_event["id"]
    event = cloud_event.data or {}
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    detail_type = event.get("detail-type")
    # The next event carries the order on, with the same correlation ID.
    nxt = {**order, "correlationId": correlation_id, "causationId": event.get("id")}
    if detail_type == "PaymentCompleted":
        if order.get("simulateFailure") == "inventory":
            nxt["reason"] = "out of stock"
            log("warn", "reservation failed", correlation_id, orderId=order.get("orderId"), reason=nxt["reason"])
            publish("InventoryReservationFailed", nxt)
            return
        nxt["reservationId"] = f"res-{order.get('orderId')}"
        for item in order.get("items", []):
            log("info", "stock reserved", correlation_id, orderId=order.get("orderId"), sku=item.get("sku"), quantity=item.get("quantity"))
        publish("InventoryReserved", nxt)
    elif detail_type == "ShipmentFailed":
        for item in order.get("items", []):
            log("info", "stock released (compensation)", correlation_id, orderId=order.get("orderId"), sku=item.get("sku"),
                quantity=item.get("quantity"), reservationId=order.get("reservationId"))
        publish("InventoryReleased", nxt)
    else:
        log("warn", "event ignored", correlation_id, detailType=detail_type)
