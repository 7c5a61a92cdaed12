'use strict';
// notification: tells the customer that their order was received.

const FUNCTION = 'notification';

// requestId is the running invocation's (a Lambda instance runs one at a time).
let requestId;

// log writes one JSON object per line, with the request and correlation IDs.
function log(level, msg, correlationId, fields) {
  process.stdout.write(JSON.stringify({ level, msg, function: FUNCTION, requestId, correlationId, ...fields }) + '\n');
}

exports.handler = async (event, context) => {
  requestId = context && context.awsRequestId;
  const order = event.detail || {};
  const correlationId = order.correlationId || event.id;
  const to = order.email || order.customerId;
  log('info', 'confirmation sent', correlationId, { orderId: order.orderId, to, channel: 'email' });
  return { orderId: order.orderId, to };
};
