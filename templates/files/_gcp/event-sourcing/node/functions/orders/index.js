'use strict';
// orders: the command side of the order aggregate. It validates each
// OrderPlaced event and publishes the outcome, OrderConfirmed or
// OrderRejected, as the aggregate's next version.

const FUNCTION = 'orders';
const functions = require('@google-cloud/functions-framework');

// requestId is the running invocation's event id (an instance runs one at a time).
let requestId;

// log writes one JSON object per line, with the request and correlation IDs.
function log(level, msg, correlationId, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: FUNCTION, requestId, correlationId, ...fields }) + '\n');
}

// publish puts one event on the bus: a message on the Pub/Sub topic
// PUBSUB_TOPIC (projects/P/topics/T), its data the detail, its attributes
// the event's source (EVENT_SOURCE) and type. In Cloud Functions it calls
// the Pub/Sub REST API with the function's service-account token; on evcli's
// local provider PUBSUB_EMULATOR_HOST points at evcli's local bus.
async function publish(detailType, detail) {
  const emulator = process.env.PUBSUB_EMULATOR_HOST;
  const headers = { 'Content-Type': 'application/json' };
  if (!emulator) headers.Authorization = `Bearer ${await accessToken()}`;
  const base = emulator ? `http://${emulator}` : 'https://pubsub.googleapis.com';
  const res = await fetch(`${base}/v1/${process.env.PUBSUB_TOPIC}:publish`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ messages: [{
      data: Buffer.from(JSON.stringify(detail)).toString('base64'),
      attributes: { source: process.env.EVENT_SOURCE, type: detailType },
    }] }),
  });
  if (!res.ok) throw new Error(`publish ${detailType}: ${res.status} ${await res.text()}`);
}

// accessToken is the function's service-account token, from the metadata server.
async function accessToken() {
  const res = await fetch('http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token', {
    headers: { 'Metadata-Flavor': 'Google' },
  });
  if (!res.ok) throw new Error(`metadata server: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

// validate returns why the order cannot be accepted, or ''.
function validate(order) {
  const items = order.items || [];
  if (items.length === 0) return 'the order has no items';
  let sum = 0;
  for (const item of items) {
    if (!(item.quantity > 0)) return `item ${item.sku}: quantity ${item.quantity} is not positive`;
    sum += item.quantity * item.price;
  }
  if (Math.abs(sum - order.total) > 0.005) {
    return `total ${Number(order.total).toFixed(2)} does not match the items (${sum.toFixed(2)})`;
  }
  return '';
}

// The CloudEvent's data is the event as the bus delivers it: an envelope
// with id, source, detail-type and the order as detail.
functions.cloudEvent('orders', async (cloudEvent) => {
  const event = cloudEvent.data || {};
  requestId = cloudEvent.id;
  const order = event.detail || {};
  const correlationId = order.correlationId || event.id;
  if (!order.orderId) {
    // Without an order id there is no aggregate to record an outcome on.
    log('error', 'event ignored: detail has no orderId', correlationId, { eventId: event.id });
    return;
  }
  // The aggregate id and version, derived when the event lacks them.
  const aggregateId = order.aggregateId || `order-${order.orderId}`;
  const version = order.version || 1;
  const reason = validate(order);
  const detailType = reason ? 'OrderRejected' : 'OrderConfirmed';
  const next = {
    ...order, aggregateId, version: version + 1, correlationId, causationId: event.id, ...(reason ? { reason } : {}),
  };
  log('info', 'order decided', correlationId, {
    outcome: detailType, reason, aggregateId, version: version + 1, orderId: order.orderId,
  });
  await publish(detailType, next); // a failure is retried by the bus
});
