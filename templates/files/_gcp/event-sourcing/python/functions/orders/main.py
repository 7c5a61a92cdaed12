"""orders: the command side of the order aggregate.

It validates each OrderPlaced event and publishes the outcome, OrderConfirmed
or OrderRejected, as the aggregate's next version.
"""
import base64
import json
import os
import urllib.error
import urllib.request

import functions_framework

FUNCTION = "orders"


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


def validate(order):
    """Return why the order cannot be accepted, or ''."""
    items = order.get("items") or []
    if not items:
        return "the order has no items"
    total = 0.0
    for item in items:
        if not item.get("quantity", 0) > 0:
            return f"item {item.get('sku')}: quantity {item.get('quantity')} is not positive"
        total += item["quantity"] * item.get("price", 0)
    if abs(total - (order.get("total") or 0)) > 0.005:
        return f"total {order.get('total', 0):.2f} does not match the items ({total:.2f})"
    return ""


@functions_framework.cloud_event
def orders(cloud_event):
    """The CloudEvent's data is the event as the bus delivers it: an envelope
    with id, source, detail-type and the order as detail."""
    global _request_id
    _request_id = cloud_event["id"]
    event = cloud_event.data or {}
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    if not order.get("orderId"):
        # Without an order id there is no aggregate to record an outcome on.
        log("error", "event ignored: detail has no orderId", correlation_id, eventId=event.get("id"))
        return
    # The aggregate id and version, derived when the event lacks them.
    aggregate_id = order.get("aggregateId") or f"order-{order['orderId']}"
    version = order.get("version") or 1
    reason = validate(order)
    detail_type = "OrderRejected" if reason else "OrderConfirmed"
    nxt = {**order, "aggregateId": aggregate_id, "version": version + 1,
           "correlationId": correlation_id, "causationId": event.get("id")}
    if reason:
        nxt["reason"] = reason
    log("info", "order decided", correlation_id, outcome=detail_type, reason=reason,
        aggregateId=aggregate_id, version=version + 1, orderId=order["orderId"])
    publish(detail_type, nxt)  # a failure is retried by the bus
