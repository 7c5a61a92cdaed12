'use strict';
// payment: charges the customer for an OrderCreated event.

const FUNCTION = 'payment';

// log writes one JSON object per line, with the correlation ID.
function log(level, msg, correlationId, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: FUNCTION, correlationId, ...fields }) + '\n');
}

exports.handler = async (event) => {
  const order = event.detail || {};
  const correlationId = order.correlationId || event.id;
  if (!(order.total > 0)) {
    log('error', 'payment refused', correlationId, { orderId: order.orderId, total: order.total });
    throw new Error(`order ${order.orderId}: total ${order.total} is not positive`);
  }
  const paymentId = `pay-${order.orderId}`;
  log('info', 'payment captured', correlationId, {
    orderId: order.orderId, customerId: order.customerId, amount: order.total, currency: order.currency, paymentId,
  });
  return { orderId: order.orderId, paymentId };
};
