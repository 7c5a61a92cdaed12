package gcp

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"cloud.google.com/go/firestore/apiv1/admin/adminpb"
	"cloud.google.com/go/functions/apiv2/functionspb"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/gcp/gcptest"
)

// runWriter stands in for Cloud Functions running a deployed function:
// the store writer's own code (from the zip the fake holds) under node,
// through a shim with the Functions Framework's (req, res), reaching the
// Firestore emulator's REST API; any other function is the conformance
// handler.
func runWriter(fsAddr string) gcptest.InvokeFunc {
	return func(fn *functionspb.Function, src []byte, h http.Header, body []byte) gcptest.Result {
		env := fn.GetServiceConfig().GetEnvironmentVariables()
		if env[EnvFunction] != StoreWriterFunction {
			return conformanceHandler(fn, src, h, body)
		}
		dir, err := os.MkdirTemp("", "evcli-writer-")
		if err != nil {
			return gcptest.Result{Status: 500, Logs: []string{err.Error()}}
		}
		defer os.RemoveAll(dir)
		if err := unzipTo(src, dir); err != nil {
			return gcptest.Result{Status: 500, Logs: []string{err.Error()}}
		}
		const shim = `const m = require(process.argv[1] + "/index.js");
const raw = require("fs").readFileSync(0);
const res = { code: 200, status(c) { this.code = c; return this; },
  send(b) { console.log("EVCLI_RESULT " + JSON.stringify({ status: this.code, body: String(b) })); } };
m.handler({ rawBody: raw, body: raw, headers: {} }, res).catch((e) => { console.log("EVCLI_RESULT " + JSON.stringify({ status: 500, body: String(e) })); });`
		cmd := exec.Command("node", "-e", shim, dir)
		cmd.Stdin = bytes.NewReader(body)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "FIRESTORE_EMULATOR_HOST=" + fsAddr}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		res := gcptest.Result{Status: 500}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if r, ok := strings.CutPrefix(line, "EVCLI_RESULT "); ok {
				var v struct {
					Status int    `json:"status"`
					Body   string `json:"body"`
				}
				json.Unmarshal([]byte(r), &v)
				res.Status, res.Body = v.Status, []byte(v.Body)
				continue
			}
			res.Logs = append(res.Logs, line)
		}
		if err != nil {
			res.Logs = append(res.Logs, "node: "+err.Error())
		}
		return res
	}
}

func unzipTo(src []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		_, err = buf.ReadFrom(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f.Name)), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// TestStoreWriterEndToEnd deploys a project with a Firestore store (TTL 7
// days) on the fakes, publishes events, lets Pub/Sub's push run the
// deployed writer's code, and reads the events back as replay does.
func TestStoreWriterEndToEnd(t *testing.T) {
	fs := requireFirestore(t)
	if _, err := exec.LookPath("node"); err != nil {
		testenv.Skip(t, "node", "install Node.js 18 or later: the store writer's code runs under it")
	}
	ctx := context.Background()
	h, err := newHarness(t.TempDir(), gcptest.WithInvoke(runWriter(fs.addr)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.store = fs
	h.envOver = map[string]string{envOverride + "FIRESTORE": h.fake.URL()}
	env := h.env()
	coll := fs.collection("shop")
	p, err := Open(ctx, providers.OpenOptions{Project: "shop", Dir: h.dir, Region: testRegion, CloudProject: testCloudProject,
		Sleep: fastSleep, Getenv: func(k string) string { return env[k] },
		Store: providers.StoreSpec{Type: "firestore", Table: coll, TTLDays: 7}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)

	// First deploy: topic, TTL policy, writer (function and subscription).
	plan, err := p.Shared.PlanShared(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(plan); !slices.Equal(got, []string{"bus evcli-default create", "ttl " + coll + ".expiresAt update", "writer shop-evcli-store-writer create"}) {
		t.Fatalf("first plan = %v", got)
	}
	if err := p.Shared.ApplyShared(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	calls := h.MutatingCalls()
	field := "projects/" + testCloudProject + "/databases/(default)/collectionGroups/" + coll + "/fields/expiresAt"
	for _, want := range []string{"functions UpdateField " + field, "functions CreateFunction projects/" + testCloudProject + "/locations/" + testRegion + "/functions/shop-evcli-store-writer",
		"pubsub CreateSubscription projects/" + testCloudProject + "/subscriptions/" + SubscriptionID("shop", StoreWriterFunction, "all")} {
		if !slices.Contains(calls, want) {
			t.Errorf("calls %q lack %q", calls, want)
		}
	}
	if f, ok := h.fake.FirestoreField(field); !ok || f.GetTtlConfig() == nil {
		t.Errorf("TTL policy on %s: %v", field, f)
	}

	// Second deploy: nothing changed, no mutating call.
	plan, err = p.Shared.PlanShared(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(plan); !slices.Equal(got, []string{"bus evcli-default unchanged", "ttl " + coll + ".expiresAt unchanged", "writer shop-evcli-store-writer unchanged"}) {
		t.Fatalf("second plan = %v", got)
	}
	if err := p.Shared.ApplyShared(ctx, plan, nil); err != nil {
		t.Fatal(err)
	}
	if got := h.MutatingCalls()[len(calls):]; len(got) != 0 {
		t.Errorf("a deploy with nothing changed made mutating calls: %v", got)
	}
	// The writer is a project resource, not one of the functions.
	dep, err := p.Deployer.Deployed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dep) != 0 {
		t.Errorf("Deployed lists %v", dep)
	}

	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	evs := []providers.Event{
		{ID: "e1", Source: "shop.orders", DetailType: "OrderPlaced", Time: at, Detail: json.RawMessage(`{"aggregateId":"o-1","version":1,"correlationId":"c-9"}`)},
		{ID: "e2", Source: "shop.orders", DetailType: "OrderPaid", Time: at.Add(time.Second), Detail: json.RawMessage(`{"aggregate_id":"o-1","aggregateVersion":"2","metadata":{"correlation_id":"c-9"}}`)},
		{ID: "e3", Source: "shop.stock", DetailType: "StockLow", Time: at.Add(2 * time.Second), Detail: json.RawMessage(`{"sku":"x"}`)},
	}
	res, err := p.Bus.Publish(ctx, "", evs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.ErrorCode != "" {
			t.Fatalf("publish %d: %+v", i, r)
		}
	}
	if n, err := gcptest.Push(ctx, h.pubsubC, testCloudProject); err != nil || n != 3 {
		t.Fatalf("push: %d acknowledged, %v (want 3: the writer stored each event)", n, err)
	}
	// A redelivery (the same id published again) is stored once.
	if _, err := p.Bus.Publish(ctx, "", evs[:1]); err != nil {
		t.Fatal(err)
	}
	if n, err := gcptest.Push(ctx, h.pubsubC, testCloudProject); err != nil || n != 1 {
		t.Fatalf("push of the redelivery: %d acknowledged, %v", n, err)
	}

	var got []string
	for ev, err := range p.Store.Events(ctx, providers.EventQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s agg=%s v=%d corr=%s %s %s", ev.ID, ev.Source, ev.DetailType, ev.AggregateID, ev.AggregateVersion,
			ev.CorrelationID, ev.Time.Format(time.RFC3339), ev.Detail))
	}
	want := []string{
		`e1 shop.orders OrderPlaced agg=o-1 v=1 corr=c-9 2026-03-01T12:00:00Z {"aggregateId":"o-1","version":1,"correlationId":"c-9"}`,
		`e2 shop.orders OrderPaid agg=o-1 v=2 corr=c-9 2026-03-01T12:00:01Z {"aggregate_id":"o-1","aggregateVersion":"2","metadata":{"correlation_id":"c-9"}}`,
		`e3 shop.stock StockLow agg= v=0 corr= 2026-03-01T12:00:02Z {"sku":"x"}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("stored events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The aggregate's events, as replay --aggregate selects them.
	n := 0
	for ev, err := range p.Store.Events(ctx, providers.EventQuery{AggregateIDs: []string{"o-1"}}) {
		if err != nil || ev.AggregateID != "o-1" {
			t.Fatalf("aggregate query: %v %v", ev, err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("aggregate o-1 has %d events, want 2", n)
	}
	// The TTL field is the event's time plus 7 days.
	var fc *firestore.Client
	if !p.Store.(*FirestoreStore).As(&fc) {
		t.Fatal("no firestore client")
	}
	snap, err := fc.Collection(coll).Doc("e1").Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if exp, _ := snap.Data()["expiresAt"].(time.Time); !exp.Equal(at.AddDate(0, 0, 7)) {
		t.Errorf("expiresAt = %v, want %v", snap.Data()["expiresAt"], at.AddDate(0, 0, 7))
	}
}

func actions(cs []providers.ResourceChange) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Kind+" "+c.Name+" "+c.Action)
	}
	return out
}

// TestTTLPlan: a TTL policy ACTIVE or CREATING is set; none, or one that
// NEEDS_REPAIR, is planned; no ttlDays plans nothing; the admin API's
// errors reach the caller classified.
func TestTTLPlan(t *testing.T) {
	ctx := context.Background()
	h, err := newHarness(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.envOver = map[string]string{envOverride + "FIRESTORE": h.fake.URL(), envFirestore: "127.0.0.1:1"}
	env := h.env()
	open := func(ttl int) *deployer {
		p, err := Open(ctx, providers.OpenOptions{Project: "shop", Dir: h.dir, Region: testRegion, CloudProject: testCloudProject,
			Sleep: fastSleep, Getenv: func(k string) string { return env[k] },
			Store: providers.StoreSpec{Type: "firestore", Table: "events", TTLDays: ttl}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close(ctx) })
		return p.Deployer.(*deployer)
	}
	d := open(0)
	if c, err := d.planTTL(ctx); c != nil || err != nil {
		t.Errorf("no ttlDays: %v, %v", c, err)
	}
	d = open(3)
	c, err := d.planTTL(ctx)
	if err != nil || c.Action != "update" {
		t.Fatalf("unset policy: %+v, %v", c, err)
	}
	if err := d.applyTTL(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 { // CREATING, then ACTIVE
		if c, err := d.planTTL(ctx); err != nil || c.Action != "unchanged" {
			t.Fatalf("set policy: %+v, %v", c, err)
		}
	}
	h.fake.Fail("GetField", status.Error(codes.PermissionDenied, "The caller does not have permission"))
	if _, err := d.planTTL(ctx); providers.CodeOf(err) != providers.PermissionDenied {
		t.Errorf("GetField denied: %v (code %v)", err, providers.CodeOf(err))
	}
	if f, _ := h.fake.FirestoreField(d.ttlField()); f.GetTtlConfig().GetState() != adminpb.Field_TtlConfig_ACTIVE {
		t.Errorf("field %v", f)
	}
}
