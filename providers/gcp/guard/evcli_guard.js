// evcli's in-function guard, generated into the zip of a Google Cloud
// function whose patterns Pub/Sub filters cannot enforce whole (evcli.yaml
// gcp.guard: in-function). package.json's main points here; this loads the
// function's own main module (EVCLI_GUARD_MAIN) and wraps its handlers, so
// that each event is matched against the function's rules (EVCLI_RULES)
// by evcli's own pattern engine, package filter built for WebAssembly
// (evcli_guard.wasm.gz), before the handler runs. An event no rule
// matches is acknowledged (HTTP 204, or a CloudEvent handler that
// returns) without running the handler: the subscription's filter never
// drops what a pattern matches, and the guard makes the match exact.
"use strict";

const path = require("path");

// RULES are the function's rules, each pattern's text exactly as evcli.yaml
// gives it (EVCLI_GUARD_PATTERNS: a JSON round trip could change numbers
// or duplicate keys), else from EVCLI_RULES.
const PATTERNS = JSON.parse(process.env.EVCLI_GUARD_PATTERNS || "null");
const RULES = PATTERNS
  ? Object.entries(PATTERNS).map(([id, text]) => ({ id, text }))
  : JSON.parse(process.env.EVCLI_RULES || "[]").map((r) => ({ id: r.id, text: JSON.stringify(r.pattern) }));
// SUBS maps a subscription id to its rule id, so that an HTTP push is
// matched against the rule it was delivered for.
const SUBS = JSON.parse(process.env.EVCLI_GUARD_SUBS || "{}");

// matches is the engine's verdict on a pattern (text) and an event
// (bytes): evcli_guard_engine.js, the engine's loader the azure entrypoint
// shares.
const { matches } = require("./evcli_guard_engine.js");

function bytesOf(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (typeof v === "string") return Buffer.from(v);
  if (v === undefined || v === null) return Buffer.alloc(0);
  return Buffer.from(JSON.stringify(v));
}

// admit reports whether the envelope matches the rule it came for (when
// the subscription is known) or any rule of the function.
function admit(envelope, subscription) {
  const rid = subscription ? SUBS[String(subscription).split("/").pop()] : undefined;
  const rules = rid ? RULES.filter((r) => r.id === rid) : RULES;
  const ev = bytesOf(envelope);
  return rules.some((r) => matches(r.text, ev));
}

function skipped(id) {
  console.log(`evcli guard: event ${id || "(no id)"} matches no rule of ${process.env.EVCLI_FUNCTION}; acknowledged without running the handler`);
}

function idOf(envelope) {
  try {
    return JSON.parse(bytesOf(envelope).toString("utf8")).id;
  } catch (e) {
    return undefined;
  }
}

// guardHTTP wraps an HTTP handler (a push with no wrapper: the body is the envelope).
function guardHTTP(fn) {
  return function (req, res) {
    const body = req.rawBody !== undefined ? req.rawBody : req.body;
    const sub = req.headers && (req.headers["x-goog-pubsub-subscription-name"] || req.headers["X-Goog-Pubsub-Subscription-Name"]);
    if (!admit(body, sub)) {
      skipped(idOf(body));
      res.status(204).send("");
      return;
    }
    return fn.apply(this, arguments);
  };
}

// guardCloudEvent wraps a CloudEvent handler (the data is the envelope).
function guardCloudEvent(fn) {
  return function (ce) {
    const data = ce && ce.data !== undefined ? ce.data : ce;
    if (!admit(data)) {
      skipped(ce && ce.id);
      return;
    }
    return fn.apply(this, arguments);
  };
}

// The declarative API: handlers registered with the Functions Framework.
try {
  const ff = require("@google-cloud/functions-framework");
  for (const [name, wrap] of [["http", guardHTTP], ["cloudEvent", guardCloudEvent]]) {
    const orig = ff[name];
    if (typeof orig === "function") ff[name] = (target, fn) => orig.call(ff, target, wrap(fn));
  }
} catch (e) {
  // Not installed: only exported handlers.
}

const main = require(path.join(__dirname, process.env.EVCLI_GUARD_MAIN || "index.js"));
const kind = process.env.FUNCTION_SIGNATURE_TYPE === "cloudevent" ? guardCloudEvent : guardHTTP;
for (const [k, v] of Object.entries(main || {})) {
  module.exports[k] = typeof v === "function" ? kind(v) : v;
}
module.exports.__evcliGuard = { matches, admit };
