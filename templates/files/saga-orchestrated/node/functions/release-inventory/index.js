'use strict';
// release-inventory: a step of the order workflow (saga.asl.json). It gets the workflow's
// state as its event and returns what the workflow stores under its ResultPath.

function log(level, msg, order, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: 'release-inventory', correlationId: order.correlationId, orderId: order.orderId, ...fields }) + '\n');
}

exports.handler = async (order) => {
  log('info', 'released the stock (compensation)', order);
  return { released: true };
};
