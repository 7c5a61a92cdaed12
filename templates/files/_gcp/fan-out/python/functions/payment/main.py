"""payment: charges the customer for an OrderCreated event."""
import json

import functions_framework

FUNCTION = "payment"


# The running invocation's event id (an instance runs one at a time).
_request_id = None


def log(level, msg, correlation_id, **fields):
    """Write one JSON object per line, with the request and correlation IDs."""
    print(json.dumps({"level": level, "msg": msg, "function": FUNCTION, "requestId": _request_id,
                      "correlationId": correlation_id, **fields}), flush=True)


@functions_framework.cloud_event
def payment(cloud_event):
    """The CloudEvent's data is the event as the bus delivers it: an envelope
    with id, source, detail-type and the order as detail."""
    global _request_id
    _request_id = cloud_event["id"]
    event = cloud_event.data or {}
    order = event.get("detail") or {}
    correlation_id = order.get("correlationId") or event.get("id")
    total = order.get("total") or 0
    if total <= 0:
        log("error", "payment refused", correlation_id, orderId=order.get("orderId"), total=total)
        raise ValueError(f"order {order.get('orderId')}: total {total} is not positive")
    payment_id = f"pay-{order.get('orderId')}"
    log("info", "payment captured", correlation_id, orderId=order.get("orderId"), customerId=order.get("customerId"),
        amount=total, currency=order.get("currency"), paymentId=payment_id)
    return {"orderId": order.get("orderId"), "paymentId": payment_id}
