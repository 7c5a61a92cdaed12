'use strict';
// evcli's stand-in for the Google Cloud Functions and Azure Functions hosts,
// for Node.js handlers written for them (evcli.yaml handlers: gcp|azure).
//
// It loads the handler's file (_HANDLER "file.export" under
// LAMBDA_TASK_ROOT: the file part) with require, while answering
// require('@google-cloud/functions-framework') and require('@azure/functions')
// with small stand-ins that record what the code registers, exactly as the
// real packages' registration calls are spelled:
//
//   gcp:   functions.cloudEvent(name, fn)            fn(cloudEvent)
//   azure: app.eventGrid(name, { handler: fn })      fn(event, context)
//
// Then it serves, on 127.0.0.1:PORT (gcp) or FUNCTIONS_CUSTOMHANDLER_PORT
// (azure), the request evcli's local runtime sends for each invocation:
//
//   gcp:   POST / with a binary-mode CloudEvent (ce-* headers, data as body),
//          calling the function registered as FUNCTION_TARGET; an error
//          answers 500 with X-Google-Status: error and the message, and
//          writes the stack to stderr, as the Functions Framework does;
//   azure: POST /<function> with the custom-handler request
//          {"Data": {"<binding>": event}, "Metadata": {...}}, calling the
//          Event Grid function registered under the export's name; it answers
//          {"Outputs": {}, "Logs": [], "ReturnValue": value}, or 500. An HTTP
//          function (app.http, as evcli's generated entrypoint registers
//          evcli-invoke) gets the invocation's payload as its request body
//          (the bus's envelope, or the payload as evcli invoke gave it); a
//          2xx response's JSON body is the ReturnValue, any other status
//          answers 500 with its errorType and errorMessage.
//
// The real packages are never loaded (they need not be installed).
const http = require('node:http');
const path = require('node:path');
const Module = require('node:module');
const util = require('node:util');

const kind = process.env.FUNCTION_SIGNATURE_TYPE === 'cloudevent' ? 'gcp' : 'azure';
const port = Number(kind === 'gcp' ? process.env.PORT : process.env.FUNCTIONS_CUSTOMHANDLER_PORT);

const registered = {}; // name -> { type, fn }

function register(type, name, fn) {
  if (typeof name !== 'string' || !name) throw new TypeError(`${type}: the function name must be a non-empty string`);
  if (typeof fn !== 'function') throw new TypeError(`${type}(${JSON.stringify(name)}): the handler must be a function`);
  registered[name] = { type, fn };
}

// @google-cloud/functions-framework
const functionsFramework = {
  cloudEvent: (name, fn) => register('cloudEvent', name, fn),
  http: (name, fn) => register('http', name, fn),
  getFunction: (name) => (registered[name] ? registered[name].fn : undefined),
};

// @azure/functions (v4 programming model)
function azureRegister(trigger) {
  return (name, options) => {
    const fn = typeof options === 'function' ? options : options && options.handler;
    register(trigger, name, fn);
  };
}
const azureFunctions = {
  app: {
    eventGrid: azureRegister('eventGrid'),
    http: azureRegister('http'),
    generic: azureRegister('generic'),
    setup: () => {},
    hook: {},
  },
  output: {},
  input: {},
  trigger: {},
};

const stubs = {
  '@google-cloud/functions-framework': functionsFramework,
  '@azure/functions': azureFunctions,
};
const origLoad = Module._load;
Module._load = function load(request, parent, isMain) {
  if (Object.prototype.hasOwnProperty.call(stubs, request)) return stubs[request];
  return origLoad.call(this, request, parent, isMain);
};

function loadCode() {
  const full = process.env._HANDLER || '';
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const slash = full.lastIndexOf('/');
  const rest = full.slice(slash + 1);
  const dot = rest.indexOf('.');
  const file = path.resolve(root, full.slice(0, slash + 1), rest.slice(0, dot));
  require(file);
  return rest.slice(dot + 1);
}

function fail(res, status, googleStatus, err) {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : util.format('%s', err);
  process.stderr.write(`${err instanceof Error && err.stack ? err.stack : message}\n`);
  const headers = { 'Content-Type': 'text/plain' };
  if (googleStatus) headers['X-Google-Status'] = googleStatus;
  if (err instanceof Error) headers['X-Evcli-Error-Type'] = err.name || 'Error';
  res.writeHead(status, headers);
  res.end(message);
}

function cloudEventOf(req, body) {
  const ce = { data: undefined };
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.startsWith('ce-')) ce[k.slice(3)] = v;
  }
  ce.datacontenttype = req.headers['content-type'];
  const text = body.toString('utf8');
  try {
    ce.data = text === '' ? undefined : JSON.parse(text);
  } catch (_) {
    ce.data = text;
  }
  return ce;
}

function azureContext(name, id) {
  const write = (level) => (...args) => process.stdout.write(`${level === 'information' ? '' : `[${level}] `}${util.format(...args)}\n`);
  return {
    invocationId: id,
    functionName: name,
    extraInputs: { get: () => undefined },
    extraOutputs: { set: () => {} },
    log: write('information'),
    trace: write('trace'),
    debug: write('debug'),
    info: write('information'),
    warn: write('warning'),
    error: write('error'),
    options: { trigger: { type: 'eventGridTrigger', name: 'event' } },
  };
}

// payloadOf is the payload an invocation's CloudEvent carries: the bus's
// envelope put back together (the local runtime sends an envelope's detail
// as the data, detail-type as the type), or, for any other payload, the data
// itself (type evcli.invoke: the payload had no detail-type).
function payloadOf(ce) {
  if (!ce || typeof ce !== 'object' || ce.specversion === undefined) return ce;
  if (ce.type === 'evcli.invoke') return ce.data;
  return {
    version: '0', id: ce.id, source: ce.source, 'detail-type': ce.type, time: ce.time,
    resources: ce.subject ? [ce.subject] : [], detail: ce.data === undefined ? {} : ce.data,
  };
}

// callHTTP calls an app.http function with a POST of the invocation's
// payload (a minimal HttpRequest: text, json, arrayBuffer, headers) and
// turns its HttpResponseInit into the invocation's result.
async function callHTTP(fn, ce, context) {
  const payload = payloadOf(ce);
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload === undefined ? {} : payload);
  const request = {
    method: 'POST',
    url: `http://127.0.0.1:${port}/api/${context.functionName}`,
    headers: new Map([['content-type', 'application/json']]),
    query: new URLSearchParams(),
    params: {},
    text: async () => text,
    json: async () => JSON.parse(text),
    arrayBuffer: async () => Buffer.from(text).buffer,
  };
  const res = (await fn(request, context)) || {};
  const status = res.status || 200;
  let body = res.jsonBody !== undefined ? JSON.stringify(res.jsonBody) : res.body;
  if (body === undefined || body === null) body = '';
  body = String(body);
  let value = body;
  try {
    value = body === '' ? null : JSON.parse(body);
  } catch (_) {}
  if (status / 100 >> 0 === 2) return value;
  const err = new Error(value && value.errorMessage !== undefined ? String(value.errorMessage) : `HTTP ${status}: ${body}`);
  err.name = (value && value.errorType) || 'Error';
  throw err;
}

function main() {
  const exported = loadCode();
  const target = (kind === 'gcp' && process.env.FUNCTION_TARGET) || exported;
  const want = kind === 'gcp' ? 'cloudEvent' : 'eventGrid';
  const entry = registered[target];
  if (!entry) {
    const names = Object.keys(registered);
    const how = kind === 'gcp' ? `functions.cloudEvent('${target}', fn)` : `app.eventGrid('${target}', { handler })`;
    throw new Error(`no function named '${target}' is registered (${names.length ? `registered: ${names.join(', ')}` : 'none is'}); register it with ${how}`);
  }
  if (entry.type !== want && !(kind === 'azure' && entry.type === 'http')) throw new Error(`'${target}' is registered with ${entry.type}, but evcli delivers events to ${want} functions`);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      if (kind === 'gcp') {
        try {
          await entry.fn(cloudEventOf(req, body));
        } catch (err) {
          fail(res, 500, 'error', err === undefined ? new Error('undefined') : err);
          return;
        }
        res.writeHead(204);
        res.end();
        return;
      }
      let value;
      try {
        const request = JSON.parse(body.toString('utf8'));
        const data = request.Data || {};
        const event = data[Object.keys(data)[0]];
        const meta = request.Metadata || {};
        const context = azureContext(target, meta.InvocationId || (event && event.id));
        if (entry.type === 'http') {
          value = await callHTTP(entry.fn, event, context);
        } else {
          value = await entry.fn(event, context);
        }
      } catch (err) {
        fail(res, 500, '', err === undefined ? new Error('undefined') : err);
        return;
      }
      const out = JSON.stringify({ Outputs: {}, Logs: [], ReturnValue: value === undefined ? null : value });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(out);
    });
  });
  // evcli's host keeps one connection open to the server across
  // invocations, and the instance is frozen between them: Node's default
  // keep-alive timeout (5 s) would fire on thaw and reset the connection
  // under the next invocation's request (a Runtime.HostError). The host
  // closes its connections itself.
  server.keepAliveTimeout = 0;
  server.listen(port, '127.0.0.1');
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
}
