'use strict';
// evcli's generated entrypoint for an Azure Functions Node.js app (v4
// programming model). evcli deploy adds it to the function's zip and points
// package.json's main at it; the function's own main stays in the package
// (.evcli/entry.json names it). It loads the function's code (the file of
// EVCLI_HANDLER, "file.name", else that main) while it holds the
// registrations of @azure/functions' app.eventGrid, takes the one Event Grid
// handler the code registers (the one called name when it registers several),
// or, when it registers none, the function the module exports as name, and
// registers in its place the two functions evcli calls:
//
//   events        Event Grid trigger: every event subscription of the app
//                 delivers here; with EVCLI_GUARD=in-function, an event no
//                 rule of EVCLI_RULES matches (evcli's own pattern engine,
//                 evcli_guard.wasm.gz) is acknowledged without running the
//                 handler.
//   evcli-invoke  HTTP POST /api/evcli-invoke, function auth level (evcli
//                 invoke): the body is the event; the answer is the
//                 handler's result as JSON, or 500 with {errorType,
//                 errorMessage} when it throws.
//
// The code's other registrations (app.http, timers, ...) are left as they are.
const fs = require('node:fs');
const path = require('node:path');

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '.evcli', 'entry.json'), 'utf8'));
const { app } = require('@azure/functions');

// target finds the handler: name -> { handler } of what app.eventGrid got.
function load() {
  const spec = process.env.EVCLI_HANDLER || '';
  const dot = spec.lastIndexOf('.');
  const file = dot > 0 ? spec.slice(0, dot) : manifest.main.replace(/\.[cm]?js$/, '');
  const name = dot > 0 ? spec.slice(dot + 1) : '';
  const captured = [];
  const eventGrid = app.eventGrid;
  app.eventGrid = (n, options) => {
    captured.push({ name: n, handler: typeof options === 'function' ? options : options && options.handler });
  };
  let mod;
  try {
    mod = require(path.resolve(__dirname, file));
  } finally {
    app.eventGrid = eventGrid;
  }
  const where = `${file} (EVCLI_HANDLER ${JSON.stringify(spec)})`;
  let pick = captured.find((c) => c.name === name);
  if (!pick && captured.length === 1) pick = captured[0];
  if (!pick && captured.length > 1) {
    throw new Error(`evcli: ${where} registers ${captured.length} Event Grid functions (${captured.map((c) => c.name).join(', ')}); evcli delivers a function's events to one: register one per function app, or name it in the handler`);
  }
  if (pick) {
    if (typeof pick.handler !== 'function') throw new Error(`evcli: ${where}: app.eventGrid('${pick.name}') has no handler function`);
    return { name: pick.name, fn: pick.handler, envelope: false };
  }
  const fn = mod && name ? mod[name] : undefined;
  if (typeof fn !== 'function') {
    throw new Error(`evcli: ${where} registers no Event Grid function (app.eventGrid) and exports no function ${JSON.stringify(name)}`);
  }
  // A plain exported handler works on the bus's envelope, as on the other clouds.
  return { name, fn, envelope: true };
}

const target = load();

// envelopeOf is the bus's event (EventBridge envelope) a CloudEvent carries:
// evcli publishes detail-type as the type, the detail as the data and the
// first resource as the subject.
function envelopeOf(ev) {
  if (!ev || typeof ev !== 'object' || ev.specversion === undefined) return ev;
  return {
    version: '0', id: ev.id, source: ev.source, 'detail-type': ev.type, time: ev.time,
    resources: ev.subject ? [ev.subject] : [], detail: ev.data === undefined || ev.data === null ? {} : ev.data,
  };
}

// cloudEventOf is ev as a CloudEvent: evcli invoke sends the bus's event
// (an EventBridge envelope, as on every provider), which Event Grid would
// have delivered as a CloudEvent (type the detail-type, data the detail);
// a CloudEvent or anything else is left as it is.
function cloudEventOf(ev) {
  if (!ev || typeof ev !== 'object' || ev.specversion !== undefined || ev['detail-type'] === undefined) return ev;
  const ce = {
    specversion: '1.0', id: ev.id, source: ev.source, type: ev['detail-type'], time: ev.time,
    data: ev.detail === undefined || ev.detail === null ? {} : ev.detail,
  };
  if (Array.isArray(ev.resources) && ev.resources.length > 0) ce.subject = ev.resources[0];
  return ce;
}

function call(ev, context) {
  return target.fn(target.envelope ? envelopeOf(ev) : ev, context);
}

// The guard: package filter built for WebAssembly (providers/internal/guardwasm).
const GUARD = process.env.EVCLI_GUARD === 'in-function';
// engine is evcli_guard_engine.js, the engine's loader the gcp guard
// shares, which a guarded package carries beside this file.
let engine;
function engineOf() {
  if (!engine) {
    if (!fs.existsSync(path.join(__dirname, 'evcli_guard_engine.js'))) {
      throw new Error('evcli: EVCLI_GUARD is set but the package has no evcli_guard_engine.js: deploy it again with evcli deploy');
    }
    engine = require('./evcli_guard_engine.js');
    engine.load();
  }
  return engine;
}

function matches(pattern, event) {
  return engineOf().matches(pattern, event);
}

const RULES = JSON.parse(process.env.EVCLI_RULES || '[]').map((r) => JSON.stringify(r.pattern));

// admit reports whether a rule of the function matches the event.
function admit(ev) {
  const bytes = Buffer.from(JSON.stringify(envelopeOf(ev)));
  return RULES.some((p) => matches(p, bytes));
}

if (GUARD) engineOf(); // a package without the engine fails at load, not per event

app.eventGrid('events', {
  handler: async (event, context) => {
    if (GUARD && !admit(event)) {
      context.log(`evcli guard: event ${(event && event.id) || '(no id)'} matches no rule of ${process.env.EVCLI_FUNCTION || target.name}; acknowledged without running the handler`);
      return undefined;
    }
    return call(event, context);
  },
});

app.http('evcli-invoke', {
  methods: ['POST'],
  authLevel: 'function',
  route: 'evcli-invoke',
  handler: async (request, context) => {
    const headers = { 'Content-Type': 'application/json', 'X-Evcli-Invocation-Id': String(context.invocationId || '') };
    const text = await request.text();
    let event;
    try {
      event = text === '' ? {} : JSON.parse(text);
    } catch (err) {
      event = text;
    }
    try {
      const result = await call(cloudEventOf(event), context);
      return { status: 200, headers, body: JSON.stringify(result === undefined ? null : result) };
    } catch (err) {
      const errorType = (err && err.name) || 'Error';
      const errorMessage = err && err.message !== undefined ? String(err.message) : String(err);
      context.error(`${errorType}: ${errorMessage}`);
      return { status: 500, headers, body: JSON.stringify({ errorType, errorMessage }) };
    }
  },
});

module.exports.__evcli = { target, admit, envelopeOf };
