'use strict';
// create-shipment: a step of the order workflow (saga.asl.json). It gets the workflow's
// state as its event and returns what the workflow stores under its ResultPath.

function log(level, msg, order, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: 'create-shipment', correlationId: order.correlationId, orderId: order.orderId, ...fields }) + '\n');
}

exports.handler = async (order) => {
  if (order.simulateFailure === 'shipment') {
    log('warn', 'shipment failed', order, { reason: 'no carrier available' });
    const err = new Error('no carrier available');
    err.name = 'ShipmentError'; // the error name the workflow's Catch matches (Lambda's errorType)
    throw err;
  }
  log('info', 'scheduled the shipment', order);
  return { trackingId: 'trk-' + order.orderId };
};
