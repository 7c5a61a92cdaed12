'use strict';
// inventory: reserves stock for every item of an OrderCreated event.

const functions = require('@google-cloud/functions-framework');

const FUNCTION = 'inventory';

// requestId is the running invocation's event id (an instance runs one at a time).
let requestId;

// log writes one JSON object per line, with the request and correlation IDs.
function log(level, msg, correlationId, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: FUNCTION, requestId, correlationId, ...fields }) + '\n');
}

// The CloudEvent's data is the event as the bus delivers it: an envelope
// with id, source, detail-type and the order as detail.
functions.cloudEvent('inventory', async (cloudEvent) => {
  const event = cloudEvent.data || {};
  requestId = cloudEvent.id;
  const order = event.detail || {};
  const correlationId = order.correlationId || event.id;
  let units = 0;
  for (const item of order.items || []) {
    units += item.quantity;
    log('info', 'stock reserved', correlationId, { orderId: order.orderId, sku: item.sku, quantity: item.quantity });
  }
  log('info', 'order reserved', correlationId, { orderId: order.orderId, units });
  return { orderId: order.orderId, units };
});
