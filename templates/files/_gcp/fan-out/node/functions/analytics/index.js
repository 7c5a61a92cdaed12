'use strict';
// analytics: records an OrderCreated event for reporting.

const functions = require('@google-cloud/functions-framework');

const FUNCTION = 'analytics';

// requestId is the running invocation's event id (an instance runs one at a time).
let requestId;

// log writes one JSON object per line, with the request and correlation IDs.
function log(level, msg, correlationId, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: FUNCTION, requestId, correlationId, ...fields }) + '\n');
}

// The CloudEvent's data is the event as the bus delivers it: an envelope
// with id, source, detail-type and the order as detail.
functions.cloudEvent('analytics', async (cloudEvent) => {
  const event = cloudEvent.data || {};
  requestId = cloudEvent.id;
  const order = event.detail || {};
  const correlationId = order.correlationId || event.id;
  const items = order.items || [];
  const units = items.reduce((n, item) => n + item.quantity, 0);
  log('info', 'order recorded', correlationId, {
    orderId: order.orderId, lines: items.length, units, revenue: order.total, currency: order.currency, eventTime: event.time,
  });
  return { orderId: order.orderId, units };
});
