'use strict';
// notification: tells the customer that their order was received.

const FUNCTION = 'notification';

// log writes one JSON object per line, with the correlation ID.
function log(level, msg, correlationId, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: FUNCTION, correlationId, ...fields }) + '\n');
}

exports.handler = async (event) => {
  const order = event.detail || {};
  const correlationId = order.correlationId || event.id;
  const to = order.email || order.customerId;
  log('info', 'confirmation sent', correlationId, { orderId: order.orderId, to, channel: 'email' });
  return { orderId: order.orderId, to };
};
