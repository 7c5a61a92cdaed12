'use strict';
// inventory: the saga's second step. It reserves the stock once the payment
// is captured (PaymentCompleted -> InventoryReserved or
// InventoryReservationFailed) and releases it when shipment fails
// (ShipmentFailed -> InventoryReleased, a compensation).

const FUNCTION = 'inventory';
const { app } = require('@azure/functions');
const { randomUUID } = require('node:crypto');

// requestId is the running invocation's id (an instance runs one at a time).
let requestId;

// log writes one JSON object per line, with the request and correlation IDs.
function log(level, msg, correlationId, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: FUNCTION, requestId, correlationId, ...fields }) + '\n');
}

// publish puts one event on the bus: a CloudEvent (source EVENT_SOURCE, type
// the detail-type, data the detail) sent to the bus's Event Grid topic
// through its data plane, EVENTGRID_TOPIC_ENDPOINT
// (https://<topic>.<region>-1.eventgrid.azure.net/api/events). It signs with
// the topic key EVENTGRID_TOPIC_KEY when set, else with a token of the app's
// managed identity (which needs the EventGrid Data Sender role on the topic).
// On evcli's local provider both variables point at evcli's local bus.
async function publish(detailType, detail) {
  const endpoint = process.env.EVENTGRID_TOPIC_ENDPOINT;
  if (!endpoint) {
    throw new Error('EVENTGRID_TOPIC_ENDPOINT is not set: set it to the bus topic\'s endpoint (az eventgrid topic show --query endpoint)');
  }
  const headers = { 'Content-Type': 'application/cloudevents-batch+json; charset=utf-8' };
  if (process.env.EVENTGRID_TOPIC_KEY) headers['aeg-sas-key'] = process.env.EVENTGRID_TOPIC_KEY;
  else headers.Authorization = `Bearer ${await accessToken()}`;
  const res = await fetch(`${endpoint}?api-version=2018-01-01`, {
    method: 'POST',
    headers,
    body: JSON.stringify([{
      specversion: '1.0', id: randomUUID(), source: process.env.EVENT_SOURCE, type: detailType,
      time: new Date().toISOString(), datacontenttype: 'application/json', data: detail,
    }]),
  });
  if (!res.ok) throw new Error(`publish ${detailType}: ${res.status} ${await res.text()}`);
}

// accessToken is a token for Event Grid of the app's managed identity, from
// the identity endpoint App Service gives every app with one.
async function accessToken() {
  const { IDENTITY_ENDPOINT: url, IDENTITY_HEADER: secret } = process.env;
  if (!url || !secret) throw new Error('no EVENTGRID_TOPIC_KEY and no managed identity (IDENTITY_ENDPOINT) to publish with');
  const res = await fetch(`${url}?resource=${encodeURIComponent('https://eventgrid.azure.net')}&api-version=2019-08-01`, {
    headers: { 'X-IDENTITY-HEADER': secret },
  });
  if (!res.ok) throw new Error(`managed identity: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
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
  },
});
