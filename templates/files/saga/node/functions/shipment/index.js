'use strict';
// shipment: the saga's last step. It schedules the delivery once the stock
// is reserved (InventoryReserved -> ShipmentScheduled), or fails
// (-> ShipmentFailed), which starts the compensations.

const FUNCTION = 'shipment';
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
};
