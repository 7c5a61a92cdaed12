'use strict';
// evcli's runtime for Node.js Lambda handlers (nodejs20.x, nodejs22.x).
//
// It implements the client side of the Lambda Runtime API 2018-06-01 with
// node:http only: it loads the handler named by _HANDLER ("file.export",
// optionally under a directory: "src/orders.handler") from LAMBDA_TASK_ROOT,
// as CommonJS (require) or as an ES module (.mjs, or .js under a package.json
// with "type": "module", through dynamic import()), then loops on
// /runtime/invocation/next, calling the handler in async or callback style and
// posting the result to /response or the error to /error, as Lambda's own
// Node.js runtime does. console.* lines are written in Lambda's text format:
// "<ISO time>\t<request id>\t<LEVEL>\t<message>", newlines inside a message
// turned into \r so that one call stays one log record.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');
const { pathToFileURL } = require('node:url');

const api = process.env.AWS_LAMBDA_RUNTIME_API || '';
const sep = api.lastIndexOf(':');
const apiHost = api.slice(0, sep);
const apiPort = Number(api.slice(sep + 1));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let currentRequestId; // undefined during init, as on Lambda
let currentInvoke; // { id, finish } while a handler runs

function request(method, p, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: apiHost, port: apiPort, method, path: '/2018-06-01' + p, headers: headers || {}, agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function logLine(level, message) {
  const text = String(message).replace(/\r?\n/g, '\r');
  process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${text}\n`);
}

function patchConsole() {
  const make = (level) => (...args) => logLine(level, util.format(...args));
  console.log = make('INFO');
  console.info = make('INFO');
  console.warn = make('WARN');
  console.error = make('ERROR');
  console.debug = make('DEBUG');
  console.trace = (...args) => {
    const err = new Error(util.format(...args));
    err.name = 'Trace';
    logLine('TRACE', err.stack);
  };
}

class RuntimeError extends Error {
  constructor(type, message, cause) {
    super(message);
    this.name = type;
    if (cause && cause.stack) this.stack = `${type}: ${message}\n${String(cause.stack).split('\n').slice(1).join('\n')}`;
  }
}

function errorBody(err) {
  if (err instanceof Error) {
    return {
      errorType: err.name || (err.constructor && err.constructor.name) || 'Error',
      errorMessage: err.message,
      trace: String(err.stack || '').split('\n'),
    };
  }
  let message;
  try {
    message = typeof err === 'string' ? err : JSON.stringify(err);
  } catch (_) {
    message = String(err);
  }
  return { errorType: typeof err, errorMessage: message === undefined ? String(err) : message, trace: [] };
}

function logError(prefix, body) {
  logLine('ERROR', `${prefix} \t${JSON.stringify({ errorType: body.errorType, errorMessage: body.errorMessage, stack: body.trace })}`);
}

function isESM(file) {
  let dir = path.dirname(file);
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
      } catch (_) {
        return false;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return false;
    dir = up;
  }
}

async function loadModule(base, shortName) {
  try {
    for (const ext of ['.js', '.mjs', '.cjs']) {
      const file = base + ext;
      if (!fs.existsSync(file)) continue;
      if (ext === '.mjs' || (ext === '.js' && isESM(file))) return await import(pathToFileURL(file).href);
      return require(file);
    }
    return require(base); // a directory with index.js, or a package
  } catch (err) {
    if (err instanceof SyntaxError) throw new RuntimeError('Runtime.UserCodeSyntaxError', `${err.name}: ${err.message}`, err);
    if (err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND')) {
      // The first line names what is missing: "Cannot find module 'X'"
      // (require) or "Cannot find package 'X' imported from F" (import).
      // The handler file itself also appears in the require stack, so
      // only the name tells the handler apart from one of its imports.
      const first = String(err.message).split('\n')[0];
      const m = /Cannot find (?:module|package) '([^']+)'/.exec(first);
      const missing = m ? m[1] : '';
      const isHandler = !missing || missing === base || ['.js', '.mjs', '.cjs'].some((ext) => missing === base + ext || missing === pathToFileURL(base + ext).href);
      if (isHandler) {
        throw new RuntimeError('Runtime.ImportModuleError', `Error: Cannot find module '${shortName}'\nRequire stack:\n- ${__filename}`, err);
      }
      const pkg = missing.startsWith('@') ? missing.split('/').slice(0, 2).join('/') : missing.split('/')[0];
      const hint = missing.startsWith('.') || missing.startsWith('/')
        ? `a file the handler imports is missing: check the path '${missing}'`
        : `the handler imports '${pkg}', which is not installed: run npm install in the function's directory (evcli zips its node_modules)`;
      throw new RuntimeError('Runtime.ImportModuleError', `Error: Cannot find module '${missing}' imported by ${shortName}: ${hint}`, err);
    }
    throw err;
  }
}

async function loadHandler() {
  const full = process.env._HANDLER || '';
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const slash = full.lastIndexOf('/');
  const dir = full.slice(0, slash + 1);
  const rest = full.slice(slash + 1);
  const m = /^([^.]*)\.(.*)$/.exec(rest);
  if (!m || !m[1] || !m[2]) throw new RuntimeError('Runtime.MalformedHandlerName', `Bad handler ${full}`);
  const mod = await loadModule(path.resolve(root, dir, m[1]), dir + m[1]);
  let fn = mod;
  for (const key of m[2].split('.')) fn = fn == null ? undefined : fn[key];
  if (fn === undefined && mod && mod.default && typeof mod.default === 'object') {
    // A CommonJS module imported as ESM exposes module.exports as default.
    fn = m[2].split('.').reduce((o, k) => (o == null ? undefined : o[k]), mod.default);
  }
  if (fn === undefined) throw new RuntimeError('Runtime.HandlerNotFound', `${full} is undefined or not exported`);
  if (typeof fn !== 'function') throw new RuntimeError('Runtime.HandlerNotFound', `${full} is not a function`);
  return fn;
}

function parseJSONHeader(value) {
  if (!value) return undefined;
  try {
    return JSON.parse(value);
  } catch (_) {
    return undefined;
  }
}

function makeContext(id, deadline, headers) {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: id,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parseJSONHeader(headers['lambda-runtime-cognito-identity']),
    clientContext: parseJSONHeader(headers['lambda-runtime-client-context']),
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
}

// onEmptyLoop is what runs once the event loop has nothing left to do: the
// answer of a callback handler with context.callbackWaitsForEmptyEventLoop
// (true unless the handler turns it off), as in Lambda's Node.js runtime,
// which waits for the timers, sockets and other work the handler left
// before it answers (a handler that leaves an open connection times out).
let onEmptyLoop = null;
process.on('beforeExit', () => {
  const f = onEmptyLoop;
  onEmptyLoop = null;
  if (f) setImmediate(f);
});

function callHandler(handler, event, context) {
  onEmptyLoop = null;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r) => {
      if (!settled) {
        settled = true;
        onEmptyLoop = null;
        resolve(r);
      }
    };
    // As Lambda's runtime: callback(err) answers at once, callback(null,
    // value) once the event loop is empty unless callbackWaitsForEmptyEventLoop
    // was set false; the legacy done/succeed/fail answer at once.
    const callback = (err, value) => {
      if (err !== undefined && err !== null) finish({ err });
      else if (context.callbackWaitsForEmptyEventLoop === false) finish({ value });
      else if (!settled) onEmptyLoop = () => finish({ value });
    };
    context.done = (err, value) => (err !== undefined && err !== null ? finish({ err }) : finish({ value }));
    context.succeed = (value) => context.done(null, value);
    context.fail = (err) => context.done(err === undefined || err === null ? 'handled' : err);
    currentInvoke.finish = finish;
    try {
      const r = handler(event, context, callback);
      if (r && typeof r.then === 'function') {
        r.then((value) => finish({ value }), (err) => finish({ err: err === undefined ? new Error('undefined') : err }));
      } else if (handler.length < 3) {
        finish({ value: r });
      }
    } catch (err) {
      finish({ err });
    }
  });
}

async function postError(id, body) {
  const payload = JSON.stringify(body);
  const p = id === undefined ? '/runtime/init/error' : `/runtime/invocation/${id}/error`;
  await request('POST', p, { 'Content-Type': 'application/json', 'Lambda-Runtime-Function-Error-Type': body.errorType }, payload);
}

async function fatal(prefix, err, type, exitCode) {
  const body = errorBody(err);
  if (type) {
    body.errorType = type;
    body.errorMessage = `${errorBody(err).errorType}: ${body.errorMessage}`;
  }
  logError(prefix, body);
  try {
    await postError(currentInvoke ? currentInvoke.id : undefined, body);
  } finally {
    process.exit(exitCode);
  }
}

process.on('uncaughtException', (err) => fatal('Uncaught Exception', err, undefined, 129));
process.on('unhandledRejection', (reason) => fatal('Unhandled Promise Rejection', reason, 'Runtime.UnhandledPromiseRejection', 128));

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    const body = errorBody(err);
    logError('Uncaught Exception', body);
    await postError(undefined, body);
    process.exit(129);
  }
  for (;;) {
    const next = await request('GET', '/runtime/invocation/next');
    if (next.status !== 200) throw new Error(`runtime API /next answered ${next.status}: ${next.body}`);
    const id = next.headers['lambda-runtime-aws-request-id'];
    const deadline = Number(next.headers['lambda-runtime-deadline-ms']);
    const trace = next.headers['lambda-runtime-trace-id'];
    if (trace) process.env._X_AMZN_TRACE_ID = trace;
    else delete process.env._X_AMZN_TRACE_ID;
    currentRequestId = id;
    currentInvoke = { id };
    let result;
    try {
      const text = next.body.toString('utf8');
      result = await callHandler(handler, text === '' ? {} : JSON.parse(text), makeContext(id, deadline, next.headers));
    } catch (err) {
      result = { err: new RuntimeError('Runtime.UnmarshalError', `Unable to parse the event: ${err.message}`, err) };
    }
    let payload;
    if (!('err' in result)) {
      try {
        payload = JSON.stringify(result.value === undefined ? null : result.value);
      } catch (err) {
        result = { err: new RuntimeError('Runtime.MarshalError', `Unable to stringify response body: ${err.message}`, err) };
      }
    }
    if ('err' in result) {
      const body = errorBody(result.err);
      logError('Invoke Error', body);
      await postError(id, body);
    } else {
      await request('POST', `/runtime/invocation/${id}/response`, { 'Content-Type': 'application/json' }, payload);
    }
    currentInvoke = undefined;
  }
}

main().catch((err) => {
  process.stderr.write(`evcli node bootstrap: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
