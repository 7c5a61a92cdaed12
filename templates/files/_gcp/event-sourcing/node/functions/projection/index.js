'use strict';
// projection: folds the order events into a view of each order. It applies
// each aggregate's events in version order and skips versions it has already
// applied, so a redelivered or replayed event changes nothing.
//
// The view lives in memory (one per warm instance) and is logged on every
// change; a production projection writes it to a table.

const FUNCTION = 'projection';
const functions = require('@google-cloud/functions-framework');
const views = new Map();
const statuses = { OrderPlaced: 'placed', OrderConfirmed: 'confirmed', OrderRejected: 'rejected' };

// requestId is the running invocation's event id (an instance runs one at a time).
let requestId;

// log writes one JSON object per line, with the request and correlation IDs.
function log(level, msg, correlationId, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: FUNCTION, requestId, correlationId, ...fields }) + '\n');
}

// The CloudEvent's data is the event as the bus delivers it: an envelope
// with id, source, detail-type and the order as detail.
functions.cloudEvent('projection', async (cloudEvent) => {
  const event = cloudEvent.data || {};
  requestId = cloudEvent.id;
  const e = event.detail || {};
  const correlationId = e.correlationId || event.id;
  const status = statuses[event['detail-type']];
  if (!status || !e.aggregateId || !e.version) {
    log('warn', 'event skipped: not an order event with aggregateId and version', correlationId, {
      detailType: event['detail-type'], eventId: event.id,
    });
    return;
  }
  let view = views.get(e.aggregateId);
  if (!view) {
    view = { status: '', version: 0, total: 0, currency: '', reason: '' };
    views.set(e.aggregateId, view);
  }
  if (e.version <= view.version) {
    log('info', 'event already applied', correlationId, { aggregateId: e.aggregateId, version: e.version, viewVersion: view.version });
    return;
  }
  if (e.version > view.version + 1) {
    log('warn', 'versions missing before this event', correlationId, { aggregateId: e.aggregateId, version: e.version, viewVersion: view.version });
  }
  view.status = status;
  view.version = e.version;
  if (e.total) {
    view.total = e.total;
    view.currency = e.currency;
  }
  if (e.reason) view.reason = e.reason;
  log('info', 'view updated', correlationId, { aggregateId: e.aggregateId, ...view });
});
