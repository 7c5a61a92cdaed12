'use strict';
// complete-order: a step of the order workflow (saga.asl.json). It gets the workflow's
// state as its event and returns what the workflow stores under its ResultPath.

function log(level, msg, order, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: 'complete-order', correlationId: order.correlationId, orderId: order.orderId, ...fields }) + '\n');
}

exports.handler = async (order) => {
  log('info', 'completed the order', order);
  return { status: 'COMPLETED', orderId: order.orderId };
};
