'use strict';
// payment: the saga's first step. It charges the order (OrderCreated ->
// PaymentCompleted or PaymentFailed) and, as the last compensation, refunds
// it when a later step failed (InventoryReleased or
// InventoryReservationFailed -> PaymentRefunded).

const FUNCTION = 'payment';
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
functions.cloudEvent('payment', async (cloudEvent) => {
  const event = cloudEvent.data || {};
  requestId = cloudEvent.id;
  const order = event.detail || {};
  const correlationId = order.correlationId || event.id;
  // The next event carries the order on, with the same correlation ID.
  const next = { ...order, correlationId, causationId: event.id };
  switch (event['detail-type']) {
    case 'OrderCreated':
      if (order.simulateFailure === 'payment' || !(order.total > 0)) {
        next.reason = 'card declined';
        log('warn', 'payment failed', correlationId, { orderId: order.orderId, amount: order.total, reason: next.reason });
        return publish('PaymentFailed', next);
      }
      next.paymentId = `pay-${order.orderId}`;
      log('info', 'payment captured', correlationId, {
        orderId: order.orderId, amount: order.total, currency: order.currency, paymentId: next.paymentId,
      });
      return publish('PaymentCompleted', next);
    case 'InventoryReleased':
    case 'InventoryReservationFailed':
      log('info', 'payment refunded (compensation)', correlationId, {
        orderId: order.orderId, paymentId: order.paymentId, amount: order.total, because: event['detail-type'],
      });
      return publish('PaymentRefunded', next);
    default:
      log('warn', 'event ignored', correlationId, { detailType: event['detail-type'] });
  }
});
