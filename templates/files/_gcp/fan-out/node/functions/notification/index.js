'use strict';
// notification: tells the customer that their order was received.

const functions = require('@google-cloud/functions-framework');

const FUNCTION = 'notification';

// requestId is the running invocation's event id (an instance runs one at a time).
let requestId;

// log writes one JSON object per line, with the request and correlation IDs.
function log(level, msg, correlationId, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: FUNCTION, requestId, correlationId, ...fields }) + '\n');
}

// The CloudEvent's data is the event as the bus delivers it: an envelope
// with id, source, detail-type and the order as detail.
functions.cloudEvent('notification', async (cloudEvent) => {
  const event = cloudEvent.data || {};
  requestId = cloudEvent.id;
  const order = event.detail || {};
  const correlationId = order.correlationId || event.id;
  const to = order.email || order.customerId;
  log('info', 'confirmation sent', correlationId, { orderId: order.orderId, to, channel: 'email' });
  return { orderId: order.orderId, to };
});
