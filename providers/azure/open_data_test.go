package azure

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
)

// TestStoreIsShared: with store.type cosmos the deployer plans the Cosmos
// DB container and the store writer with the bus and storage, applies
// them, and then plans nothing and writes nothing; a changed store key
// updates only the writer. The writer is not one of the project's
// functions (Deployed leaves it out) and cannot be deployed as one.
func TestStoreIsShared(t *testing.T) {
	ep, hc := testenv.CosmosDB(t)
	ctx := context.Background()
	h := newHarness(t.TempDir())
	defer h.Close()
	h.cosmosEndpoint, h.cosmosClient = ep, hc
	openP := func(keys providers.StoreKeys) *providers.Provider {
		t.Helper()
		o := h.options(providers.OpenOptions{Project: "shop", Bus: "shop-bus",
			Store: providers.StoreSpec{Type: cosmosStoreType, Table: "shared/events", Keys: keys}})
		p, err := open(ctx, o, h.transports())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close(ctx) })
		return p
	}
	plan := func(p *providers.Provider) map[string]providers.ResourceChange {
		t.Helper()
		cs, err := p.Shared.PlanShared(ctx, false)
		if err != nil {
			t.Fatalf("PlanShared: %v", err)
		}
		out := map[string]providers.ResourceChange{}
		for _, c := range cs {
			out[c.Kind] = c
		}
		return out
	}
	apply := func(p *providers.Provider) {
		t.Helper()
		cs, err := p.Shared.PlanShared(ctx, false)
		if err == nil {
			err = p.Shared.ApplyShared(ctx, cs, nil)
		}
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
	}

	p := openP(providers.StoreKeys{})
	first := plan(p)
	for _, k := range []string{"storage", "bus", "table", "writer"} {
		if first[k].Action != "create" {
			t.Errorf("first plan: %s is %q, want create (%+v)", k, first[k].Action, first)
		}
	}
	apply(p)
	before := len(h.MutatingCalls())
	for k, c := range plan(openP(providers.StoreKeys{})) {
		if c.Action != "unchanged" {
			t.Errorf("second plan: %s is %s %v, want unchanged", k, c.Action, c.Fields)
		}
	}
	apply(openP(providers.StoreKeys{}))
	if after := h.MutatingCalls(); len(after) != before {
		t.Errorf("a deploy without changes wrote: %v", after[before:])
	}
	if ds, err := p.Deployer.Deployed(ctx); err != nil || len(ds) != 0 {
		t.Errorf("Deployed = %+v, %v: want no functions (the writer is not one)", ds, err)
	}

	changed := plan(openP(providers.StoreKeys{Type: "kind"}))
	if c := changed["writer"]; c.Action != "update" || !slices.Contains(c.Fields, "settings") {
		t.Errorf("a changed store key: writer %+v, want update of its settings", c)
	}
	if changed["table"].Action != "unchanged" {
		t.Errorf("a changed store key: table %+v, want unchanged", changed["table"])
	}

	fd, _ := h.Function(storeWriterFunction, 1)
	fd.Name, fd.MemoryMB = storeWriterFunction, 512
	if err := p.Deployer.ApplyFunction(ctx, fd, true, nil); providers.CodeOf(err) != providers.InvalidArgument {
		t.Errorf("deploying a function named %s: %v, want InvalidArgument", storeWriterFunction, err)
	}
}

// TestOpenDataMissing: what the settings leave unusable is Missing with
// the fix, and the rest of the driver opens.
func TestOpenDataMissing(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t.TempDir())
	defer h.Close()
	h.envOver = map[string]string{EnvMetricsEndpoint: "", envLocation: ""}
	o := h.options(providers.OpenOptions{Project: "p", Bus: "b", Store: providers.StoreSpec{Type: cosmosStoreType}})
	p, err := Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for a, says := range map[providers.Ability]string{providers.AbilityStore: EnvCosmosEndpoint, providers.AbilityMetrics: "location"} {
		if err := p.Require(a); err == nil || !strings.Contains(p.Missing[a], says) {
			t.Errorf("%s: Require = %v, Missing %q: want it missing, saying %s", a, err, p.Missing[a], says)
		}
	}
	if !p.Has(providers.AbilityLogs) || !p.Has(providers.AbilityDeploy) {
		t.Errorf("logs and deploy are missing: %v", p.Missing)
	}
}

// TestInvokeLogTail: invoke's result carries the lines of that invocation
// that App Insights holds, the host's Executed line as REPORT.
func TestInvokeLogTail(t *testing.T) {
	e := newTestEnv(t, "tail", nil)
	fd := e.fn("echo", 1)
	if err := e.p.Deployer.ApplyFunction(e.ctx, fd, true, nil); err != nil {
		t.Fatal(err)
	}
	r, err := e.p.Invoker.Invoke(e.ctx, "echo", []byte(`{"mark":"m1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.LogTail) != 2 || !strings.Contains(r.LogTail[0], "mark=m1") || !strings.HasPrefix(r.LogTail[1], "REPORT RequestId: "+r.RequestID+"\t") {
		t.Errorf("LogTail = %q (request %s): want the handler's line and the REPORT line", r.LogTail, r.RequestID)
	}
}
