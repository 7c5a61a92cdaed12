'use strict';
// shipment: the saga's last step. It schedules the delivery once the stock
// is reserved (InventoryReserved -> ShipmentScheduled), or fails
// (-> ShipmentFailed), which starts the compensations.

const FUNCTION = 'shipment';
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

// The CloudEvent's data is the event as the bus delivers it: an envelope
// with id, source, detail-type and the order as detail.
functions.cloudEvent('shipment', async (cloudEvent) => {
  const event = cloudEvent.data || {};
  requestId = cloudEvent.id;
  const order = event.detail || {};
  const correlationId = order.correlationId || event.id;
  if (event['detail-type'] !== 'InventoryReserved') {
    log('warn', 'event ignored', correlationId, { detailType: event['detail-type'] });
    return;
  }
  // The next event carries the order on, with the same correlation ID.
  const next = { ...order, correlationId, causationId: event.id };
  if (order.simulateFailure === 'shipment') {
    next.reason = 'no carrier available';
    log('warn', 'shipment failed', correlationId, { orderId: order.orderId, reason: next.reason });
    return publish('ShipmentFailed', next);
  }
  next.shipmentId = `shp-${order.orderId}`;
  log('info', 'shipment scheduled', correlationId, { orderId: order.orderId, shipmentId: next.shipmentId });
  return publish('ShipmentScheduled', next);
});
