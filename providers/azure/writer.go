package azure

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/evcli/evcli/providers"
)

// The event-store writer. Nothing puts the events of an Event Grid topic in
// Cosmos DB by itself, so deploy installs, next to the container, a small
// function app that does: one function, evcli-store-writer, triggered by an
// Event Grid subscription on the project's topic with no filter (every
// event, CloudEvents 1.0 schema), whose return value goes to a Cosmos DB
// output binding. The function (JavaScript, function.json bindings, no
// package to install, so its zip is the same in every build and an
// unchanged writer is not re-published) turns the CloudEvent into the item
// the store reads (store.go): the same id, partition key, time layout,
// aggregate id/version/correlation id read from the detail as every evcli
// store reads them, the TTL, replays flagged. The output binding upserts on
// the id, which is the event id: a redelivered event writes the same item
// again, so the writer is idempotent on the event id.
//
// Why a function app of its own: a Flex Consumption app has one language,
// and the project's may be Go, Python or Node; the writer's Node app is the
// smallest (512 MB instances) and costs per event what one execution costs.
// It reaches Cosmos DB with the app's managed identity (identity-based
// connection EVCLI_COSMOS__accountEndpoint), which needs the Cosmos DB
// Built-in Data Contributor role on the account.

// storeWriterFunction is the writer's function name; its app is the
// project's writer app. It is not a function of evcli.yaml: the plan shows
// it as a project resource ("writer").
const storeWriterFunction = "evcli-store-writer"

// storeWriterPattern matches every event on the bus; the deployer makes its
// subscription without filters (Event Grid's default: every event).
const storeWriterPattern = `{"source":[{"prefix":""}]}`

// cosmosDataContributor is the Cosmos DB Built-in Data Contributor role
// (data plane: read and write items), assigned to the writer app's identity
// on the account.
const cosmosDataContributor = "00000000-0000-0000-0000-000000000002"

// storeWriterJS is the writer's handler.
const storeWriterJS = `// evcli's event-store writer: an Event Grid subscription on the project's
// topic sends every event here (CloudEvents 1.0), and the returned item goes
// to the Cosmos DB output binding (an upsert on the id, the event id: a
// redelivered event writes the same item again). Built into evcli and
// deployed by evcli deploy; the item is the one evcli's Cosmos DB store
// reads (providers/azure/store.go).
"use strict";

const K = JSON.parse(process.env.EVCLI_STORE_KEYS || "{}");
const NO_AGGREGATE = "evcli:event:";
const HEAD_ID = "evcli-head";

function firstScalar(...vs) {
  for (const v of vs) {
    if (typeof v === "string" && v !== "") return v;
    if (typeof v === "number" && Number.isFinite(v)) return String(v);
  }
  return "";
}

// sortableTime writes t (RFC 3339) in UTC with nine fraction digits, so
// that strings sort as times, keeping the digits Event Grid passed on.
function sortableTime(t) {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/i.exec(t || "");
  if (m) return m[1] + "." + (m[2] || "").padEnd(9, "0") + "Z";
  const d = t ? new Date(t) : new Date();
  const iso = (isNaN(d) ? new Date() : d).toISOString(); // 2026-01-02T03:04:05.678Z
  return iso.slice(0, 23) + "000000Z";
}

// itemID is the Cosmos id of an event id (as store.go's cosmosItemID).
function itemID(id) {
  if (id && id !== HEAD_ID && Buffer.byteLength(id) <= 255 && !/[\/\\?#]/.test(id)) return id;
  const h = require("crypto").createHash("sha256").update(id || "").digest("hex");
  return "evcli-" + h.slice(0, 40);
}

// item is the Cosmos DB item of a CloudEvent (or an EventBridge envelope).
function item(ev, keys = K) {
  const id = ev.id || "";
  const detail = ev.specversion ? ev.data : ev.detail;
  const type = ev.specversion ? ev.type : ev["detail-type"];
  const d = detail && typeof detail === "object" && !Array.isArray(detail) ? detail : {};
  const meta = d.metadata && typeof d.metadata === "object" ? d.metadata : {};
  const agg = firstScalar(d.aggregateId, d.aggregate_id);
  const ver = firstScalar(d.aggregateVersion, d.version);
  const corr = firstScalar(d.correlationId, d.correlation_id, meta.correlationId, meta.correlation_id);
  const it = { id: itemID(id) };
  it[keys.aggregate] = agg || NO_AGGREGATE + id;
  it[keys.sort] = sortableTime(ev.time);
  it[keys.id] = id;
  it[keys.type] = type || "";
  it[keys.data] = detail === undefined ? {} : detail;
  it.source = ev.source || "";
  if (/^-?\d+$/.test(ver) && Number(ver) !== 0) it[keys.version] = Number(ver);
  if (corr) it.correlationId = corr;
  if (Object.prototype.hasOwnProperty.call(d, "_replay")) it.replayed = true;
  if (keys.ttlDays > 0) it.ttl = keys.ttlDays * 86400;
  return it;
}

module.exports = async function (context, event) {
  return item(event);
};
module.exports.item = item;
`

// storeWriterFunctionJSON binds the writer: an Event Grid trigger and the
// Cosmos DB output binding ($return), database and container from app
// settings.
const storeWriterFunctionJSON = `{
  "bindings": [
    { "type": "eventGridTrigger", "direction": "in", "name": "event" },
    {
      "type": "cosmosDB",
      "direction": "out",
      "name": "$return",
      "databaseName": "%EVCLI_COSMOS_DATABASE%",
      "containerName": "%EVCLI_COSMOS_CONTAINER%",
      "connection": "EVCLI_COSMOS",
      "createIfNotExists": false
    }
  ]
}
`

// storeWriterHostJSON is the app's host.json: the extension bundle brings
// the Event Grid and Cosmos DB extensions.
const storeWriterHostJSON = `{
  "version": "2.0",
  "extensionBundle": {
    "id": "Microsoft.Azure.Functions.ExtensionBundle",
    "version": "[4.*, 5.0.0)"
  }
}
`

// storeWriterKeys is what the writer reads from EVCLI_STORE_KEYS.
type storeWriterKeys struct {
	Aggregate string `json:"aggregate"`
	Sort      string `json:"sort"`
	ID        string `json:"id"`
	Type      string `json:"type"`
	Data      string `json:"data"`
	Version   string `json:"version"`
	TTLDays   int    `json:"ttlDays,omitempty"`
}

// storeWriterZip is the writer app's deterministic zip.
var storeWriterZip = sync.OnceValues(func() ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := []struct{ name, body string }{
		{"host.json", storeWriterHostJSON},
		{storeWriterFunction + "/function.json", storeWriterFunctionJSON},
		{storeWriterFunction + "/index.js", storeWriterJS},
	}
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
})

// storeWriterSpec is the writer as the deployer applies it: a Flex
// Consumption app on Node with one function, its settings, its event
// subscription (no filters) and the identity's role on the account.
type storeWriterSpec struct {
	// Function is the writer's desired deployment in the portable form
	// the plan compares (code hash, settings, the catch-all rule).
	Function providers.FunctionDeployment
	// RuntimeVersion is the app's Node version.
	RuntimeVersion string
	// Subscription is the event subscription's name on the topic.
	Subscription string
	// Schema is the subscription's event delivery schema.
	Schema string
	// CosmosRole is the Cosmos DB SQL role to assign to the app's
	// identity, at the account's scope.
	CosmosRole string
}

// storeWriter returns the writer's desired state for the store of cfg on
// bus, its zip written under the system's temp directory
// (content-addressed, so concurrent deploys agree). The deployer includes
// it with the project's resources when the project has a store.
func storeWriter(cfg cosmosConfig, bus string) (storeWriterSpec, error) {
	cfg.defaults()
	zb, err := storeWriterZip()
	if err != nil {
		return storeWriterSpec{}, err
	}
	sum := sha256.Sum256(zb)
	path := filepath.Join(os.TempDir(), "evcli-azure-store-writer-"+hex.EncodeToString(sum[:8])+".zip")
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, zb) {
		if err := os.WriteFile(path, zb, 0o644); err != nil {
			return storeWriterSpec{}, err
		}
	}
	k := cfg.Keys
	keys, _ := json.Marshal(storeWriterKeys{Aggregate: k.Aggregate, Sort: k.Sort, ID: k.ID, Type: k.Type, Data: k.Data, Version: k.Version, TTLDays: max(cfg.TTLDays, 0)})
	fd := providers.FunctionDeployment{
		Name: storeWriterFunction, Runtime: "nodejs20.x", Handler: storeWriterFunction + "/index.js", Architecture: "x86_64",
		MemoryMB: 512, TimeoutS: 30, CodeSha256: base64.StdEncoding.EncodeToString(sum[:]), ArtifactPath: path,
		Env: map[string]string{
			"EVCLI_STORE_KEYS":              string(keys),
			"EVCLI_COSMOS__accountEndpoint": strings.TrimRight(cfg.Endpoint, "/") + "/",
			"EVCLI_COSMOS_DATABASE":         cfg.Database,
			"EVCLI_COSMOS_CONTAINER":        cfg.Container,
		},
		Rules: []providers.RuleSpec{{ID: storeWriterFunction, Bus: bus, Pattern: json.RawMessage(storeWriterPattern)}},
	}
	return storeWriterSpec{Function: fd, RuntimeVersion: "20", Subscription: storeWriterFunction,
		Schema: "CloudEventSchemaV1_0", CosmosRole: cosmosDataContributor}, nil
}

// isWriterSetting says whether an app setting is one of the writer's own
// (its environment, compared by planStoreWriter).
func isWriterSetting(k string) bool {
	return strings.HasPrefix(k, "EVCLI_STORE_") || strings.HasPrefix(k, "EVCLI_COSMOS")
}

// isStoreWriter says whether a function name is the writer's.
func isStoreWriter(fn string) bool { return strings.EqualFold(fn, storeWriterFunction) }

// planStoreWriter says what applying want does to the writer as deployed
// (have; nil when it is not deployed): "create", "update" with the fields
// that differ, or "unchanged". app is the writer app's physical name. The
// deployer reads have with its Deployed and calls this with the project's
// other resources.
func planStoreWriter(app string, have *providers.FunctionDeployment, want storeWriterSpec) providers.ResourceChange {
	c := providers.ResourceChange{Kind: "writer", Name: app}
	if have == nil {
		c.Action = "create"
		return c
	}
	w := want.Function
	var fields []string
	if have.CodeSha256 != w.CodeSha256 {
		fields = append(fields, "code changed")
	}
	if have.Runtime != w.Runtime || have.MemoryMB != w.MemoryMB || have.TimeoutS != w.TimeoutS {
		fields = append(fields, "configuration")
	}
	if len(have.Env) != len(w.Env) {
		fields = append(fields, "settings")
	} else {
		for k, v := range w.Env {
			if have.Env[k] != v {
				fields = append(fields, "settings")
				break
			}
		}
	}
	if len(have.Rules) != 1 || have.Rules[0].Bus != w.Rules[0].Bus {
		fields = append(fields, "subscription")
	}
	fields = append(fields, have.Drift...)
	c.Action, c.Fields = "unchanged", fields
	if len(fields) > 0 {
		c.Action = "update"
	}
	return c
}
