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

// An Event Grid trigger (CloudEvents schema): the event's data is the event
// as the bus delivers it, an envelope with id, source, detail-type and the
// order as detail.
app.eventGrid('payment', {
  handler: async (gridEvent, context) => {
    const event = gridEvent.data || {};
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
