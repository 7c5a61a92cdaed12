'use strict';
// inventory: reserves stock for every item of an OrderCreated event.

const FUNCTION = 'inventory';

// log writes one JSON object per line, with the correlation ID.
function log(level, msg, correlationId, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: FUNCTION, correlationId, ...fields }) + '\n');
}

exports.handler = async (event) => {
  const order = event.detail || {};
  const correlationId = order.correlationId || event.id;
  let units = 0;
  for (const item of order.items || []) {
    units += item.quantity;
    log('info', 'stock reserved', correlationId, { orderId: order.orderId, sku: item.sku, quantity: item.quantity });
  }
  log('info', 'order reserved', correlationId, { orderId: order.orderId, units });
  return { orderId: order.orderId, units };
};
