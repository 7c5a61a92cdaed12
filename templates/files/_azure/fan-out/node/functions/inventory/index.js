'use strict';
// inventory: reserves stock for every item of an OrderCreated event.

const { app } = require('@azure/functions');

const FUNCTION = 'inventory';

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
app.eventGrid('inventory', {
  handler: async (gridEvent, context) => {
    const event = {
      id: gridEvent.id, source: gridEvent.source, 'detail-type': gridEvent.type, time: gridEvent.time, detail: gridEvent.data || {},
    };
    requestId = context.invocationId;
    const order = event.detail || {};
    const correlationId = order.correlationId || event.id;
    let units = 0;
    for (const item of order.items || []) {
      units += item.quantity;
      log('info', 'stock reserved', correlationId, { orderId: order.orderId, sku: item.sku, quantity: item.quantity });
    }
    log('info', 'order reserved', correlationId, { orderId: order.orderId, units });
    return { orderId: order.orderId, units };
  },
});
