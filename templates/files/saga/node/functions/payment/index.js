'use strict';
// payment: the saga's first step. It charges the order (OrderCreated ->
// PaymentCompleted or PaymentFailed) and, as the last compensation, refunds
// it when a later step failed (InventoryReleased or
// InventoryReservationFailed -> PaymentRefunded).

const FUNCTION = 'payment';
const { EventBridgeClient, PutEventsCommand } = require('@aws-sdk/client-eventbridge');

// Endpoint, region and credentials come from the environment: on evcli's
// local provider AWS_ENDPOINT_URL_EVENTBRIDGE points at evcli.
const client = new EventBridgeClient({});

// requestId is the running invocation's (a Lambda instance runs one at a time).
let requestId;

// log writes one JSON object per line, with the request and correlation IDs.
function log(level, msg, correlationId, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: FUNCTION, requestId, correlationId, ...fields }) + '\n');
}

// publish puts one event on the bus named by EVENT_BUS_NAME.
async function publish(detailType, detail) {
  const out = await client.send(new PutEventsCommand({
    Entries: [{
      EventBusName: process.env.EVENT_BUS_NAME,
      Source: process.env.EVENT_SOURCE,
      DetailType: detailType,
      Detail: JSON.stringify(detail),
    }],
  }));
  if (out.FailedEntryCount) {
    const e = out.Entries[0];
    throw new Error(`publish ${detailType}: ${e.ErrorCode}: ${e.ErrorMessage}`);
  }
}

exports.handler = async (event, context) => {
  requestId = context && context.awsRequestId;
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
};
