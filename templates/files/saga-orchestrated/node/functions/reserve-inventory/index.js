'use strict';
// reserve-inventory: a step of the order workflow (saga.asl.json). It gets the workflow's
// state as its event and returns what the workflow stores under its ResultPath.

function log(level, msg, order, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: 'reserve-inventory', correlationId: order.correlationId, orderId: order.orderId, ...fields }) + '\n');
}

exports.handler = async (order) => {
  if (order.simulateFailure === 'inventory') {
    log('warn', 'inventory failed', order, { reason: 'out of stock' });
    const err = new Error('out of stock');
    err.name = 'InventoryError'; // the error name the workflow's Catch matches (Lambda's errorType)
    throw err;
  }
  log('info', 'reserved the stock', order);
  return { reservationId: 'res-' + order.orderId };
};
