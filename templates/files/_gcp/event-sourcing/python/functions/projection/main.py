"""projection: folds the order events into a view of each order.

It applies each aggregate's events in version order and skips versions it
has already applied, so a redelivered or replayed event changes nothing.
The view lives in memory (one per warm instance) and is logged on every
change; a production projection writes it to a table.
"""
import json

import functions_framework

FUNCTION = "projection"
VIEWS = {}
STATUSES = {"OrderPlaced": "placed", "OrderConfirmed": "confirmed", "OrderRejected": "rejected"}


# The running invocation's event id (an instance runs one at a time).
_request_id = None


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the request and correlation IDs."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "requestId": _request_id,
                      "correlationId": correlation_id, **fields}), flush=True)


@functions_framework.cloud_event
def projection(cloud_event):
    """The CloudEvent's data is the event as the bus delivers it: an envelope
    with id, source, detail-type and the order as detail."""
    global _request_id
    _request_id = cloud_event["id"]
    event = cloud_event.data or {}
    e = event.get("detail") or {}
    correlation_id = e.get("correlationId") or event.get("id")
    status = STATUSES.get(event.get("detail-type"))
    aggregate_id, version = e.get("aggregateId"), e.get("version")
    if not status or not aggregate_id or not version:
        log("warn", "event skipped: not an order event with aggregateId and version", correlation_id,
            detailType=event.get("detail-type"), eventId=event.get("id"))
        return
    view = VIEWS.setdefault(aggregate_id, {"status": "", "version": 0, "total": 0, "currency": "", "reason": ""})
    if version <= view["version"]:
        log("info", "event already applied", correlation_id, aggregateId=aggregate_id, version=version, viewVersion=view["version"])
        return
    if version > view["version"] + 1:
        log("warn", "versions missing before this event", correlation_id, aggregateId=aggregate_id, version=version, viewVersion=view["version"])
    view["status"], view["version"] = status, version
    if e.get("total"):
        view["total"], view["currency"] = e["total"], e.get("currency", "")
    if e.get("reason"):
        view["reason"] = e["reason"]
    log("info", "view updated", correlation_id, aggregateId=aggregate_id, **view)
