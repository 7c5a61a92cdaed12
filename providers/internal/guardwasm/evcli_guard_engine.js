'use strict';
// evcli's pattern engine for Node.js: package filter built for WebAssembly
// (evcli_guard.wasm.gz, beside this file in a guarded function's zip), as
// the in-function guard of the gcp and azure entrypoints uses it.
// matches(pattern, event) is the engine's verdict on a pattern (its text,
// exactly as evcli.yaml gives it) and an event (its JSON bytes); load()
// instantiates the engine, once per instance, and throws when the package
// has no engine.
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const WASM = path.join(__dirname, 'evcli_guard.wasm.gz');
let engine;

// load instantiates the engine once per instance (a WASI reactor).
function load() {
  if (engine) return engine;
  if (!fs.existsSync(WASM)) throw new Error('evcli guard: the package has no evcli_guard.wasm.gz: deploy it again with evcli deploy');
  const { WASI } = require('node:wasi');
  const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(zlib.gunzipSync(fs.readFileSync(WASM))), wasi.getImportObject());
  wasi.initialize(inst);
  engine = inst.exports;
  return engine;
}

// matches is the engine's verdict on pattern (text) and event (bytes).
function matches(pattern, event) {
  const e = load();
  const p = Buffer.from(pattern);
  const ptr = e.alloc(p.length + event.length);
  const mem = new Uint8Array(e.memory.buffer, ptr, p.length + event.length);
  mem.set(p, 0);
  mem.set(event, p.length);
  const r = e.match(p.length);
  if (r === -1) throw new Error("evcli guard: a rule's pattern does not parse: " + pattern);
  return r === 1; // -2: the event is not JSON, which no pattern matches
}

module.exports = { load, matches };
