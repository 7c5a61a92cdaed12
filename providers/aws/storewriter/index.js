// evcli's event-store writer: an EventBridge rule on the project's bus
// sends every event here, and this puts it in the project's DynamoDB table
// as the event-sourcing layout has it. Built into evcli (go:embed) and
// deployed by evcli deploy; Node's Lambda runtime brings the AWS SDK.
//
// Idempotent on the event: the item's key is the aggregate id and
// "<time>#<event id>" (EventBridge times have whole seconds, so two events of
// one aggregate in one second need the id to stay apart), which comes from
// the event alone, and the put is conditional on the item being new, so a
// redelivered event is dropped. A handler that stores an event it publishes
// itself uses the same key (the Time it gave PutEvents and the EventId it got
// back), and the writer's copy is dropped the same way. The aggregate id, version and correlation
// id are read from the detail as evcli's local store reads them
// (providers/local/store DeriveKeys); replays (detail._replay) are flagged.
"use strict";

const K = JSON.parse(process.env.EVCLI_STORE_KEYS || "{}");
const TABLE = process.env.EVCLI_STORE_TABLE;
// NO_AGGREGATE prefixes the event id as the partition key of an event
// without an aggregate id (DynamoDB keys cannot be empty); evcli reads it
// back as no aggregate.
const NO_AGGREGATE = "evcli:event:";
// SORT_SEP separates the event's time from its id in the sort key; evcli
// reads the time before it.
const SORT_SEP = "#";

// firstScalar is the first of vs that is a non-empty string or a number, as text.
function firstScalar(...vs) {
  for (const v of vs) {
    if (typeof v === "string" && v !== "") return v;
    if (typeof v === "number" && Number.isFinite(v)) return String(v);
  }
  return "";
}

// item is the DynamoDB item of an EventBridge event.
function item(ev, keys = K, nowDays = 0) {
  const d = ev.detail && typeof ev.detail === "object" && !Array.isArray(ev.detail) ? ev.detail : {};
  const meta = d.metadata && typeof d.metadata === "object" ? d.metadata : {};
  const agg = firstScalar(d.aggregateId, d.aggregate_id);
  const ver = firstScalar(d.aggregateVersion, d.version);
  const corr = firstScalar(d.correlationId, d.correlation_id, meta.correlationId, meta.correlation_id);
  const it = {};
  it[keys.aggregate] = { S: agg || NO_AGGREGATE + ev.id };
  it[keys.sort] = { S: ev.time + SORT_SEP + ev.id };
  it[keys.id] = { S: ev.id };
  it[keys.type] = { S: ev["detail-type"] || "" };
  it[keys.data] = { S: JSON.stringify(ev.detail === undefined ? {} : ev.detail) };
  it.source = { S: ev.source || "" };
  if (/^-?\d+$/.test(ver)) it[keys.version] = { N: ver };
  if (corr) it.correlationId = { S: corr };
  if (Object.prototype.hasOwnProperty.call(d, "_replay")) it.replayed = { BOOL: true };
  if (keys.ttl && keys.ttlDays > 0) {
    const t = Math.floor(Date.parse(ev.time) / 1000) + keys.ttlDays * 86400;
    it[keys.ttl] = { N: String(t) };
  }
  return it;
}

let client;

exports.item = item;
exports.handler = async (ev) => {
  const { DynamoDBClient, PutItemCommand } = require("@aws-sdk/client-dynamodb");
  client = client || new DynamoDBClient({});
  try {
    await client.send(new PutItemCommand({
      TableName: TABLE, Item: item(ev),
      ConditionExpression: "attribute_not_exists(#id)", ExpressionAttributeNames: { "#id": K.id },
    }));
  } catch (e) {
    if (e.name !== "ConditionalCheckFailedException") throw e; // already stored
  }
};
