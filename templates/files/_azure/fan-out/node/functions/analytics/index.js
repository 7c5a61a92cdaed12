'use strict';
// analytics: records an OrderCreated event for reporting.

const { app } = require('@azure/functions');

const FUNCTION = 'analytics';

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
app.eventGrid('analytics', {
  handler: async (gridEvent, context) => {
    const event = {
      id: gridEvent.id, source: gridEvent.source, 'detail-type': gridEvent.type, time: gridEvent.time, detail: gridEvent.data || {},
    };
    requestId = context.invocationId;
    const order = event.detail || {};
    const correlationId = order.correlationId || event.id;
    const items = order.items || [];
    const units = items.reduce((n, item) => n + item.quantity, 0);
    log('info', 'order recorded', correlationId, {
      orderId: order.orderId, lines: items.length, units, revenue: order.total, currency: order.currency, eventTime: event.time,
    });
    return { orderId: order.orderId, units };
  },
});
