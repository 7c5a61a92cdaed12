'use strict';
// payment: charges the customer for an OrderCreated event.

const { app } = require('@azure/functions');

const FUNCTION = 'payment';

// requestId is the running invocation's event id (an instance runs one at a time).
let requestId;

// log writes one JSON object per line, with the request and correlation IDs.
function log(level, msg, correlationId, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: FUNCTION, requestId, correlationId, ...fields }) + '\n');
}

// An Event Grid trigger (CloudEvents schema): the CloudEvent's type is the
// bus event's detail-type and its data the order (the detail), as evcli
// send and the other functions publish them; the handler works on the
// event as the bus knows it (id, source, detail-type, time, detail).
app.eventGrid('payment', {
  handler: async (gridEvent, context) => {
    const event = {
      id: gridEvent.id, source: gridEvent.source, 'detail-type': gridEvent.type, time: gridEvent.time, detail: gridEvent.data || {},
    };
    requestId = context.invocationId;
    const order = event.detail || {};
    const correlationId = order.correlationId || event.id;
    if (!(order.total > 0)) {
      log('error', 'payment refused', correlationId, { orderId: order.orderId, total: order.total });
      throw new Error(`order ${order.orderId}: total ${order.total} is not positive`);
    }
    const paymentId = `pay-${order.orderId}`;
    log('info', 'payment captured', correlationId, {
      orderId: order.orderId, customerId: order.customerId, amount: order.total, currency: order.currency, paymentId,
    });
    return { orderId: order.orderId, paymentId };
  },
});
