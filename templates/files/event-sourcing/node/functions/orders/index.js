'use strict';
// orders: the command side of the order aggregate. It validates each
// OrderPlaced event and publishes the outcome, OrderConfirmed or
// OrderRejected, as the aggregate's next version.

const { EventBridgeClient, PutEventsCommand } = require('@aws-sdk/client-eventbridge');

const FUNCTION = 'orders';
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

exports.handler = async (event, context) => {
  requestId = context && context.awsRequestId;
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
};
