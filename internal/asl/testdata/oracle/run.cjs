// The differential test's oracle: runs one state machine with the npm
// package aws-local-stepfunctions over the same fake functions as
// asl_test.go (fakeFunctions), and prints {"output": ...} or
// {"error": NAME, "cause": CAUSE}. Input on stdin: {"definition", "input",
// "context"}, or an array of them, answered with an array of results in
// the same order (one Node start for every case). ORACLE is the
// package's directory.
//
// The package needs Node 22's Promise.withResolvers; on Node 20 this
// polyfill is all it lacks.
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((a, b) => { resolve = a; reject = b; });
    return { promise, resolve, reject };
  };
}
const { StateMachine } = require(process.env.ORACLE);

// a function error as the Go fake reports it: the Cause is Lambda's error
// document, keys sorted as Go's encoding/json writes them
function lambdaError(type, message) {
  const doc = type ? { errorMessage: message, errorType: type } : { errorMessage: message };
  const e = new Error(JSON.stringify(doc));
  e.name = type || "Lambda.Unknown";
  return e;
}

let calls = {}; // per run: a case's flaky function counts its own attempts
const functions = {
  echo: async (i) => i,
  add: async (i) => ({ sum: (i.a || 0) + (i.b || 0) }),
  fail: async (i) => { throw lambdaError(i.errorType, "failed on purpose"); },
  flaky: async (i, n) => {
    if (n <= (i.failures || 0)) throw lambdaError("Transient", `attempt ${n} failed`);
    return { attempts: n };
  },
  payment: async (i) => {
    if (i.failPayment === true) throw lambdaError("PaymentError", "card declined");
    return { paymentId: "p-1", status: "charged" };
  },
  inventory: async () => ({ reservationId: "r-1" }),
  shipment: async (i) => {
    if (i.failShipment === true) throw lambdaError("ShipmentError", "no carrier available");
    return { trackingId: "t-1" };
  },
  complete: async () => ({ ok: true }),
  release: async () => ({ ok: true }),
  refund: async () => ({ ok: true }),
};

function functionOf(resource) {
  let m = /^\$\{function:([A-Za-z0-9_-]+)\}$/.exec(resource);
  if (m) return m[1];
  m = /:function:([A-Za-z0-9_-]+)(:[A-Za-z0-9$_-]+)?$/.exec(resource);
  if (m) return m[1];
  if (/^[A-Za-z0-9_-]+$/.test(resource)) return resource;
  return null;
}

// rewrite Resources to Lambda ARNs (the package validates them) and map
// each Task state to its function
function prepare(machine, handlers, waits, retries) {
  for (const [name, st] of Object.entries(machine.States || {})) {
    if (st.Type === "Task") {
      const fn = functionOf(st.Resource);
      st.Resource = `arn:aws:lambda:us-east-1:123456789012:function:${fn}`;
      handlers[name] = async (input) => {
        calls[fn] = (calls[fn] || 0) + 1;
        return functions[fn](input, calls[fn]);
      };
    }
    if (st.Type === "Wait") waits[name] = 0;
    if (st.Retry) retries[name] = 0;
    for (const b of st.Branches || []) prepare(b, handlers, waits, retries);
    for (const k of ["ItemProcessor", "Iterator"]) if (st[k]) prepare(st[k], handlers, waits, retries);
  }
}

let stdin = "";
process.stdin.on("data", (d) => (stdin += d));
async function runOne(c) {
  calls = {};
  const handlers = {}, waits = {}, retries = {};
  prepare(c.definition, handlers, waits, retries);
  try {
    const sm = new StateMachine(c.definition);
    const ex = sm.run(c.input, {
      overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: waits, retryIntervalOverrides: retries },
      context: c.context,
    });
    const out = await ex.result;
    return { output: out === undefined ? null : out };
  } catch (e) {
    const inner = e.cause || e;
    return { error: inner.name, cause: inner.message, kind: e.constructor.name };
  }
}

process.stdin.on("end", async () => {
  const req = JSON.parse(stdin);
  if (!Array.isArray(req)) {
    process.stdout.write(JSON.stringify(await runOne(req)));
    return;
  }
  const results = [];
  for (const c of req) results.push(await runOne(c)); // one at a time: calls is shared
  process.stdout.write(JSON.stringify(results));
});
