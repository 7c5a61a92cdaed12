'use strict';
// process-payment: a step of the order workflow (saga.asl.json). It gets the workflow's
// state as its event and returns what the workflow stores under its ResultPath.

function log(level, msg, order, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: 'process-payment', correlationId: order.correlationId, orderId: order.orderId, ...fields }) + '\n');
}

exports.handler = async (order) => {
  if (order.simulateFailure === 'payment') {
    log('warn', 'payment failed', order, { reason: 'card declined' });
    const err = new Error('card declined');
    err.name = 'PaymentError'; // the error name the workflow's Catch matches (Lambda's errorType)
    throw err;
  }
  log('info', 'charged the order', order);
  return { paymentId: 'pay-' + order.orderId };
};
