'use strict';
// inventory: the saga's second step. It reserves the stock once the payment
// is captured (PaymentCompleted -> InventoryReserved or
// InventoryReservationFailed) and releases it when shipment fails
// (ShipmentFailed -> InventoryReleased, a compensation).

const FUNCTION = 'inventory';
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
    case 'PaymentCompleted':
      if (order.simulateFailure === 'inventory') {
        next.reason = 'out of stock';
        log('warn', 'reservation failed', correlationId, { orderId: order.orderId, reason: next.reason });
        return publish('InventoryReservationFailed', next);
      }
      next.reservationId = `res-${order.orderId}`;
      for (const item of order.items || []) {
        log('info', 'stock reserved', correlationId, { orderId: order.orderId, sku: item.sku, quantity: item.quantity });
      }
      return publish('InventoryReserved', next);
    case 'ShipmentFailed':
      for (const item of order.items || []) {
        log('info', 'stock released (compensation)', correlationId, {
          orderId: order.orderId, sku: item.sku, quantity: item.quantity, reservationId: order.reservationId,
        });
      }
      return publish('InventoryReleased', next);
    default:
      log('warn', 'event ignored', correlationId, { detailType: event['detail-type'] });
  }
};
