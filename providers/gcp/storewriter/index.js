// evcli's event-store writer for Google Cloud: a Pub/Sub push subscription
// on the project's topic sends every event here (the message data is the
// EventBridge envelope evcli send publishes), and this puts it in the
// project's Firestore collection as evcli's replay reads it. Built into
// evcli (go:embed) and deployed by evcli deploy. It has no dependencies:
// Firestore's REST API through fetch (Node 18 and later), with the
// function's own token from the metadata server, so Cloud Functions'
// build installs nothing and the zip is the same in every evcli build.
//
// Idempotent on the event: the document is named by the event id and
// created with createDocument, which answers 409 ALREADY_EXISTS for a
// name that exists, so a redelivered event is stored once. The aggregate
// id, version and correlation id are read from the detail as evcli's
// local store reads them (providers/local/store DeriveKeys); the TTL field
// is the event's time plus ttlDays, for the collection's TTL policy.
"use strict";

const K = JSON.parse(process.env.EVCLI_STORE_KEYS || "{}");

// firstScalar is the first of vs that is a non-empty string or a number, as text.
function firstScalar(...vs) {
  for (const v of vs) {
    if (typeof v === "string" && v !== "") return v;
    if (typeof v === "number" && Number.isFinite(v)) return String(v);
  }
  return "";
}

// doc is the Firestore document (REST form) of an EventBridge event.
function doc(ev, keys = K) {
  const d = ev.detail && typeof ev.detail === "object" && !Array.isArray(ev.detail) ? ev.detail : {};
  const meta = d.metadata && typeof d.metadata === "object" ? d.metadata : {};
  const agg = firstScalar(d.aggregateId, d.aggregate_id);
  const ver = firstScalar(d.aggregateVersion, d.version);
  const corr = firstScalar(d.correlationId, d.correlation_id, meta.correlationId, meta.correlation_id);
  const time = new Date(ev.time);
  if (Number.isNaN(time.getTime())) throw new Error(`event ${ev.id}: time ${JSON.stringify(ev.time)} is not a timestamp`);
  const f = {};
  f[keys.aggregate] = { stringValue: agg };
  f[keys.sort] = { timestampValue: time.toISOString() };
  f[keys.id] = { stringValue: ev.id };
  f[keys.type] = { stringValue: ev["detail-type"] || "" };
  f[keys.data] = { stringValue: JSON.stringify(ev.detail === undefined ? {} : ev.detail) };
  f[keys.version] = { integerValue: /^-?\d+$/.test(ver) ? ver : "0" };
  f.source = { stringValue: ev.source || "" };
  if (corr) f.correlationId = { stringValue: corr };
  if (keys.ttl && keys.ttlDays > 0) {
    f[keys.ttl] = { timestampValue: new Date(time.getTime() + keys.ttlDays * 86400e3).toISOString() };
  }
  return { fields: f };
}

// token is the bearer token for Firestore: the emulator's owner token, or
// the function's service account's from the metadata server.
async function token() {
  if (process.env.FIRESTORE_EMULATOR_HOST) return "owner";
  const r = await fetch("http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token",
    { headers: { "Metadata-Flavor": "Google" } });
  if (!r.ok) throw new Error(`metadata server: HTTP ${r.status}`);
  return (await r.json()).access_token;
}

function base() {
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  return host ? `http://${host}` : "https://firestore.googleapis.com";
}

// envelope reads the pushed message: the body is the message data (the
// subscription has no wrapper), however the framework parsed it.
function envelope(req) {
  let b = req.rawBody !== undefined ? req.rawBody : req.body;
  if (Buffer.isBuffer(b)) b = b.toString("utf8");
  if (typeof b === "string") b = JSON.parse(b);
  if (!b || typeof b !== "object" || typeof b.id !== "string" || b.id === "") throw new Error("the message is not an event envelope");
  return b;
}

// store creates the event's document; false when it was stored before.
async function store(ev, body) {
  const p = process.env.EVCLI_STORE_CLOUD_PROJECT;
  const db = process.env.EVCLI_STORE_DATABASE || "(default)";
  const coll = process.env.EVCLI_STORE_COLLECTION;
  const url = `${base()}/v1/projects/${encodeURIComponent(p)}/databases/${encodeURIComponent(db)}/documents/` +
    `${encodeURIComponent(coll)}?documentId=${encodeURIComponent(ev.id)}`;
  const r = await fetch(url, {
    method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${await token()}` },
  });
  if (r.status === 409) return false; // already stored
  if (!r.ok) throw new Error(`firestore: HTTP ${r.status}: ${(await r.text()).slice(0, 300)}`);
  return true;
}

exports.doc = doc;
exports.handler = async (req, res) => {
  let ev, body;
  try {
    ev = envelope(req);
    body = doc(ev);
  } catch (e) {
    // Not an event: acknowledge (2xx), or Pub/Sub redelivers it forever.
    console.error(`evcli store writer: dropped a message: ${e.message}`);
    res.status(204).send("");
    return;
  }
  try {
    const created = await store(ev, body);
    console.log(`evcli store writer: ${created ? "stored" : "already stored"} ${ev.id}`);
    res.status(204).send("");
  } catch (e) {
    console.error(`evcli store writer: ${ev.id}: ${e.message}`);
    res.status(500).send(e.message); // Pub/Sub retries with backoff
  }
};
