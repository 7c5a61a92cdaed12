package azure

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
)

// writerItems runs the writer's item function on events with node and
// returns the items it makes (JSON objects).
func writerItems(t *testing.T, cfg cosmosConfig, events []map[string]any) []map[string]any {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Skip(t, "node", "install Node.js 20 or later")
	}
	spec, err := storeWriter(cfg, "shop-bus")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(storeWriterJS), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `const w = require(process.argv[1] + "/index.js");
let s = ""; process.stdin.on("data", c => s += c).on("end", async () => {
  const out = [];
  for (const e of JSON.parse(s)) out.push(await w({}, e));
  process.stdout.write(JSON.stringify(out));
});`
	cmd := exec.Command("node", "-e", script, dir)
	cmd.Env = append(os.Environ(), "EVCLI_STORE_KEYS="+spec.Function.Env["EVCLI_STORE_KEYS"])
	in, _ := json.Marshal(events)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var items []map[string]any
	if err := json.Unmarshal(out, &items); err != nil {
		t.Fatalf("writer output %s: %v", out, err)
	}
	return items
}

// cloudEvent is ev as evcli publishes it to Event Grid.
func cloudEvent(ev providers.Event) map[string]any {
	return map[string]any{"specversion": "1.0", "id": ev.ID, "source": ev.Source, "type": ev.DetailType,
		"time": ev.Time.UTC().Format(time.RFC3339Nano), "datacontenttype": "application/json", "data": json.RawMessage(ev.Detail)}
}

var writerCases = []providers.Event{
	{ID: "w1", Source: "shop", DetailType: "OrderPlaced", Time: time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC),
		Detail: json.RawMessage(`{"aggregateId":"order-1","version":1,"metadata":{"correlationId":"c-1"}}`)},
	{ID: "w2", Source: "shop", DetailType: "OrderPaid", Time: time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC),
		Detail: json.RawMessage(`{"aggregate_id":"order-1","aggregateVersion":"2","correlation_id":"c-1"}`)},
	{ID: "w/3?", Source: "billing", DetailType: "Invoiced", Time: time.Date(2026, 12, 1, 10, 0, 2, 500000000, time.UTC),
		Detail: json.RawMessage(`{"amount":12.5,"lines":[1,2]}`)},
	{ID: "w4", Source: "shop", DetailType: "OrderPlaced", Time: time.Date(2026, 12, 1, 10, 0, 3, 0, time.UTC),
		Detail: json.RawMessage(`{"aggregateId":"order-2","version":1,"_replay":{"of":"w0"}}`)},
}

// TestStoreWriterItems: the writer (JavaScript, run by node) makes the
// item the Go store makes of the same event, field for field.
func TestStoreWriterItems(t *testing.T) {
	cfg := cosmosConfig{Endpoint: "https://acct.documents.azure.com:443/", TTLDays: 30}
	cfg.defaults()
	s := &cosmosStore{cfg: cfg}
	var evs []map[string]any
	for _, ev := range writerCases {
		evs = append(evs, cloudEvent(ev))
	}
	items := writerItems(t, cfg, evs)
	for i, ev := range writerCases {
		se := providers.StoredEvent{Event: ev}
		cosmosDeriveKeys(&se)
		b, _ := s.item(se)
		var want map[string]any
		_ = json.Unmarshal(b, &want)
		gb, _ := json.Marshal(items[i])
		var got map[string]any
		_ = json.Unmarshal(gb, &got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("event %s:\n writer %s\n store  %s", ev.ID, gb, b)
		}
	}
}

// TestStoreWriterFillsTheStore: the writer's items, upserted as its output
// binding does (twice: Event Grid redelivers), are read back by the store
// once each, with the event's aggregate, version, correlation and detail.
func TestStoreWriterFillsTheStore(t *testing.T) {
	ep, hc := testenv.CosmosDB(t)
	s := testCosmosStore(t, ep, hc, "writer", 30)
	var evs []map[string]any
	for _, ev := range writerCases {
		evs = append(evs, cloudEvent(ev))
	}
	items := writerItems(t, s.cfg, evs)
	ctx := context.Background()
	for range 2 {
		for _, it := range items {
			b, _ := json.Marshal(it)
			if _, err := s.container.UpsertItem(ctx, azcosmos.NewPartitionKeyString(it["aggregateId"].(string)), b, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []string
	for ev, err := range s.Events(ctx, providers.EventQuery{Since: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s v%d %s %s %s", ev.ID, ev.Source, ev.DetailType, ev.AggregateVersion, ev.AggregateID, ev.CorrelationID, ev.Time.Format(time.RFC3339Nano)))
		if want := writerCases[len(got)-1].Detail; !jsonEqual(ev.Detail, want) {
			t.Errorf("event %s detail %s, want %s", ev.ID, ev.Detail, want)
		}
	}
	want := []string{
		"w1 shop OrderPlaced v1 order-1 c-1 2026-12-01T10:00:00.123456789Z",
		"w2 shop OrderPaid v2 order-1 c-1 2026-12-01T10:00:01Z",
		"w/3? billing Invoiced v0   2026-12-01T10:00:02.5Z",
		"w4 shop OrderPlaced v1 order-2  2026-12-01T10:00:03Z",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("read back:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Replays are left out when asked.
	n := 0
	for _, err := range s.Events(ctx, providers.EventQuery{ExcludeReplays: true}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("ExcludeReplays yielded %d events, want 3", n)
	}
}

func jsonEqual(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// TestStoreWriterSpec: the writer's zip is the same in every build, and
// its settings carry the store's layout.
func TestStoreWriterSpec(t *testing.T) {
	cfg := cosmosConfig{Endpoint: "https://acct.documents.azure.com:443", Database: "db", Container: "ev", TTLDays: 7,
		Keys: providers.StoreKeys{Aggregate: "agg"}}
	a, err := storeWriter(cfg, "shop-bus")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := storeWriter(cfg, "shop-bus")
	if a.Function.CodeSha256 == "" || a.Function.CodeSha256 != b.Function.CodeSha256 {
		t.Errorf("code hashes %q and %q: want one stable hash", a.Function.CodeSha256, b.Function.CodeSha256)
	}
	zb, err := os.ReadFile(a.Function.ArtifactPath)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Name == storeWriterFunction+"/function.json" {
			rc, _ := f.Open()
			var fj struct {
				Bindings []map[string]any `json:"bindings"`
			}
			if err := json.NewDecoder(rc).Decode(&fj); err != nil || len(fj.Bindings) != 2 || fj.Bindings[0]["type"] != "eventGridTrigger" || fj.Bindings[1]["type"] != "cosmosDB" {
				t.Errorf("function.json bindings %v (%v): want an Event Grid trigger and a Cosmos DB output", fj.Bindings, err)
			}
			rc.Close()
		}
	}
	if got := strings.Join(names, " "); got != "host.json evcli-store-writer/function.json evcli-store-writer/index.js" {
		t.Errorf("zip holds %s", got)
	}
	env := a.Function.Env
	if env["EVCLI_COSMOS__accountEndpoint"] != "https://acct.documents.azure.com:443/" || env["EVCLI_COSMOS_DATABASE"] != "db" || env["EVCLI_COSMOS_CONTAINER"] != "ev" {
		t.Errorf("settings %v", env)
	}
	var keys storeWriterKeys
	if err := json.Unmarshal([]byte(env["EVCLI_STORE_KEYS"]), &keys); err != nil || keys.Aggregate != "agg" || keys.Sort != "time" || keys.TTLDays != 7 {
		t.Errorf("EVCLI_STORE_KEYS %s (%v)", env["EVCLI_STORE_KEYS"], err)
	}
	if len(a.Function.Rules) != 1 || a.Function.Rules[0].Bus != "shop-bus" || !isStoreWriter(a.Function.Name) || validFlexMemory(a.Function.MemoryMB) != nil {
		t.Errorf("spec %+v", a)
	}
}

func TestPlanStoreWriter(t *testing.T) {
	want, err := storeWriter(cosmosConfig{Endpoint: "https://acct.documents.azure.com:443/"}, "shop-bus")
	if err != nil {
		t.Fatal(err)
	}
	same := func(mod func(*providers.FunctionDeployment)) *providers.FunctionDeployment {
		fd := want.Function
		fd.Env = map[string]string{}
		for k, v := range want.Function.Env {
			fd.Env[k] = v
		}
		fd.Rules = append([]providers.RuleSpec(nil), want.Function.Rules...)
		if mod != nil {
			mod(&fd)
		}
		return &fd
	}
	cases := []struct {
		name   string
		have   *providers.FunctionDeployment
		action string
		fields string
	}{
		{"absent", nil, "create", ""},
		{"same", same(nil), "unchanged", ""},
		{"code", same(func(f *providers.FunctionDeployment) { f.CodeSha256 = "old" }), "update", "code changed"},
		{"setting", same(func(f *providers.FunctionDeployment) { f.Env["EVCLI_COSMOS_CONTAINER"] = "other" }), "update", "settings"},
		{"memory", same(func(f *providers.FunctionDeployment) { f.MemoryMB = 2048 }), "update", "configuration"},
		{"no subscription", same(func(f *providers.FunctionDeployment) { f.Rules = nil }), "update", "subscription"},
		{"drift", same(func(f *providers.FunctionDeployment) { f.Drift = []string{"role assignment"} }), "update", "role assignment"},
	}
	for _, c := range cases {
		got := planStoreWriter("shop-writer", c.have, want)
		if got.Action != c.action || strings.Join(got.Fields, ",") != c.fields || got.Kind != "writer" || got.Name != "shop-writer" {
			t.Errorf("%s: %+v, want %s [%s]", c.name, got, c.action, c.fields)
		}
	}
}
