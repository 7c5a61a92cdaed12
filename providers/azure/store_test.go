package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
	localstore "github.com/evcli/evcli/providers/local/store"
	"github.com/evcli/evcli/providers/providertest"
)

// cosmosEmulatorKey is the Cosmos DB emulator's well-known account key
// (cosmosdb-server takes any).
const cosmosEmulatorKey = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU901DDj5g3c93F6M8nU+3lbbpv6WDxNIsdkkV7pZZ4Ygg8YA=="

// testCosmosStore opens a store on a fresh container of the emulator.
func testCosmosStore(t *testing.T, ep string, hc *http.Client, container string, ttlDays int) *cosmosStore {
	t.Helper()
	s, err := newCosmosStore(context.Background(), cosmosConfig{
		Endpoint: ep, Key: cosmosEmulatorKey, Database: "evcli-test", Container: container, TTLDays: ttlDays,
		ClientOptions: &azcosmos.ClientOptions{ClientOptions: azcore.ClientOptions{
			Transport: missingDocFix{hc}, Retry: policy.RetryOptions{MaxRetries: -1}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := s.plan(ctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if err := s.ensure(ctx, c); err != nil {
		t.Fatalf("ensure: %v", err)
	}
	return s
}

// missingDocFix answers 404, as Cosmos DB does, where cosmosdb-server 1.0.1
// fails with 500 reading a document that does not exist (its read handler
// dereferences the missing document).
type missingDocFix struct{ hc *http.Client }

// It also copies a transactional batch's partition key (a header, as the
// protocol has it) into each operation, where the emulator's batch handler
// looks for it.
func (f missingDocFix) Do(req *http.Request) (*http.Response, error) {
	if req.Header.Get("x-ms-cosmos-is-batch-request") == "True" || req.Header.Get("x-ms-cosmos-is-batch-request") == "true" {
		if err := batchPartitionFix(req); err != nil {
			return nil, err
		}
	}
	resp, err := f.hc.Do(req)
	if err != nil || req.Method != http.MethodGet || resp.StatusCode != http.StatusInternalServerError || !strings.Contains(req.URL.Path, "/docs/") {
		return resp, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(b, []byte("Cannot read properties of undefined")) {
		resp.StatusCode, resp.Status = http.StatusNotFound, "404 Not Found"
		b = []byte(`{"code":"NotFound","message":"Entity with the specified id does not exist in the system."}`)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	return resp, nil
}

func batchPartitionFix(req *http.Request) error {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return err
	}
	var ops []map[string]any
	if json.Unmarshal(b, &ops) == nil {
		for _, op := range ops {
			if _, ok := op["partitionKey"]; !ok {
				op["partitionKey"] = req.Header.Get("x-ms-documentdb-partitionkey")
			}
		}
		b, _ = json.Marshal(ops)
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.ContentLength = int64(len(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return nil
}

// TestStoreConformance runs the conformance suite's store check on the
// Cosmos DB store alone, against cosmosdb-server.
func TestStoreConformance(t *testing.T) {
	ep, hc := testenv.CosmosDB(t)
	var n int
	providertest.Run(t, func(ctx context.Context, t *testing.T) (providertest.Harness, error) {
		n++
		return &storeHarness{t: t, ep: ep, hc: hc, container: fmt.Sprintf("conf-%d", n)}, nil
	})
}

// storeHarness opens a Provider with only the Cosmos DB store.
type storeHarness struct {
	t         *testing.T
	ep        string
	hc        *http.Client
	container string
	store     *cosmosStore
}

func (h *storeHarness) Open(ctx context.Context, o providers.OpenOptions) (*providers.Provider, error) {
	if h.store == nil {
		h.store = testCosmosStore(h.t, h.ep, h.hc, h.container+"-"+o.Project, 0)
	}
	p := &providers.Provider{Name: "azure", Store: h.store, Missing: map[providers.Ability]string{}}
	for _, a := range providers.Abilities {
		if !p.Has(a) {
			p.Missing[a] = "this test opens the Cosmos DB event store alone"
		}
	}
	return p, nil
}

func (h *storeHarness) Function(string, int) (providers.FunctionDeployment, error) {
	return providers.FunctionDeployment{}, errors.New("the store harness deploys nothing")
}

func (h *storeHarness) Close() {}

// WriteEvents appends as the writer's path does: idempotent, per aggregate
// in version order.
func (h *storeHarness) WriteEvents(ctx context.Context, p *providers.Provider, evs []providers.StoredEvent) error {
	for _, ev := range evs {
		if err := h.store.Append(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

func TestCosmosAppend(t *testing.T) {
	ep, hc := testenv.CosmosDB(t)
	s := testCosmosStore(t, ep, hc, "append", 7)
	ctx := context.Background()
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ev := func(id string, v int, agg string) providers.StoredEvent {
		d := fmt.Sprintf(`{"aggregateId":%q,"version":%d,"metadata":{"correlationId":"corr-%s"}}`, agg, v, id)
		if agg == "" {
			d = `{"note":"no aggregate"}`
		}
		return providers.StoredEvent{Event: providers.Event{ID: id, DetailType: "T", Source: "src", Time: base.Add(time.Duration(v) * time.Second), Detail: json.RawMessage(d)}}
	}
	steps := []struct {
		name string
		ev   providers.StoredEvent
		code providers.Code // the error's, Unknown for none
	}{
		{"first", ev("e1", 1, "acc-1"), providers.Unknown},
		{"next", ev("e2", 2, "acc-1"), providers.Unknown},
		{"redelivered", ev("e2", 2, "acc-1"), providers.Unknown},
		{"older redelivered", ev("e1", 1, "acc-1"), providers.Unknown},
		{"version taken", ev("e2b", 2, "acc-1"), providers.Conflict},
		{"gap allowed", ev("e4", 4, "acc-1"), providers.Unknown},
		{"no aggregate", ev("x/1?", 0, ""), providers.Unknown},
		{"no aggregate again", ev("x/1?", 0, ""), providers.Unknown},
		{"other aggregate", ev("e1", 1, "acc-2"), providers.Unknown},
	}
	for _, st := range steps {
		err := s.Append(ctx, st.ev)
		if st.code == providers.Unknown && err != nil || st.code != providers.Unknown && providers.CodeOf(err) != st.code {
			t.Errorf("%s: Append = %v (code %v), want code %v", st.name, err, providers.CodeOf(err), st.code)
		}
	}
	var got []string
	for e, err := range s.Events(ctx, providers.EventQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s/%d/%s/%s", e.AggregateID, e.AggregateVersion, e.ID, e.CorrelationID))
	}
	want := "acc-1/1/e1/corr-e1 acc-1/2/e2/corr-e2 acc-1/4/e4/corr-e4 /0/x/1?/ acc-2/1/e1/corr-e1"
	if strings.Join(got, " ") != want {
		t.Errorf("stored:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	// TTL: the container keeps items per item; each event has store.ttlDays.
	var ctr *azcosmos.ContainerClient
	s.As(&ctr)
	r, err := ctr.ReadItem(ctx, azcosmos.NewPartitionKeyString("acc-1"), "e1", nil)
	if err != nil {
		t.Fatal(err)
	}
	var it struct {
		TTL int `json:"ttl"`
	}
	_ = json.Unmarshal(r.Value, &it)
	if it.TTL != 7*86400 {
		t.Errorf("ttl = %d, want %d", it.TTL, 7*86400)
	}
	c, err := s.plan(ctx)
	if err != nil || c.Action != "unchanged" {
		t.Errorf("plan after ensure = %+v, %v: want unchanged", c, err)
	}
}

// TestCosmosAppendRace: writers appending the same version of one
// aggregate at once: exactly one wins, the others are told Conflict, and
// the store holds the winner's event alone.
func TestCosmosAppendRace(t *testing.T) {
	ep, hc := testenv.CosmosDB(t)
	s := testCosmosStore(t, ep, hc, "race", 0)
	ctx := context.Background()
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	mk := func(id string, v int) providers.StoredEvent {
		return providers.StoredEvent{Event: providers.Event{ID: id, DetailType: "T", Source: "s", Time: base.Add(time.Duration(v) * time.Second),
			Detail: json.RawMessage(fmt.Sprintf(`{"aggregateId":"acc","version":%d}`, v))}}
	}
	if err := s.Append(ctx, mk("v1", 1)); err != nil {
		t.Fatal(err)
	}
	const writers = 6
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Append(ctx, mk(fmt.Sprintf("v2-%d", i), 2))
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won < 0:
			won = i
		case err == nil:
			t.Errorf("writers %d and %d both appended version 2", won, i)
		case providers.CodeOf(err) != providers.Conflict:
			t.Errorf("writer %d: %v (code %v), want Conflict", i, err, providers.CodeOf(err))
		}
	}
	var got []string
	for ev, err := range s.Events(ctx, providers.EventQuery{AggregateIDs: []string{"acc"}}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.ID)
	}
	if want := fmt.Sprintf("v1 v2-%d", won); strings.Join(got, " ") != want {
		t.Errorf("stored %v, want %s", got, want)
	}
}

func TestCosmosErrors(t *testing.T) {
	cases := []struct {
		status int
		want   providers.Code
	}{
		{404, providers.NotFound}, {401, providers.Unauthenticated}, {403, providers.PermissionDenied},
		{429, providers.Throttled}, {409, providers.Conflict}, {412, providers.Conflict},
		{400, providers.InvalidArgument}, {503, providers.Unavailable},
	}
	for _, c := range cases {
		err := classifyIn(svcCosmos, "r", &azcore.ResponseError{StatusCode: c.status})
		if got := providers.CodeOf(err); got != c.want {
			t.Errorf("status %d: code %v, want %v", c.status, got, c.want)
		}
	}
}

func TestCosmosItemID(t *testing.T) {
	for in, ok := range map[string]bool{"abc-1": true, "a/b": false, "a#b": false, "a?b": false, `a\b`: false, "": false, cosmosHeadID: false, strings.Repeat("x", 256): false} {
		got := cosmosItemID(in)
		if (got == in) != ok {
			t.Errorf("cosmosItemID(%q) = %q", in, got)
		}
		if strings.ContainsAny(got, `/\?#`) || len(got) > 255 || got == "" {
			t.Errorf("cosmosItemID(%q) = %q: not a valid id", in, got)
		}
	}
}

// FuzzCosmosItem: an event's item decodes back to the event (no panic on
// any input; id, aggregate, type, time and a JSON detail survive).
func FuzzCosmosItem(f *testing.F) {
	f.Add("e-1", "acc-1", "Placed", `{"aggregateId":"acc-1","version":3}`, int64(1764583200123456789))
	f.Add("x/1?#", "", "", `not json`, int64(0))
	f.Add("", "agg", "T", `[1,2]`, int64(-1))
	f.Add("evcli-head", "evcli:event:z", "T", `"s"`, int64(253402300799000000))
	f.Fuzz(func(t *testing.T, id, agg, typ, detail string, nanos int64) {
		cfg := cosmosConfig{}
		cfg.defaults()
		s := &cosmosStore{cfg: cfg}
		at := time.Unix(0, nanos).UTC()
		if at.Year() < 1 || at.Year() > 9999 || id == "" { // Append refuses events without an id
			return
		}
		if !utf8.ValidString(id) || !utf8.ValidString(agg) || !utf8.ValidString(typ) { // JSON (and so Cosmos DB) holds text: invalid UTF-8 becomes U+FFFD
			return
		}
		ev := providers.StoredEvent{Event: providers.Event{ID: id, DetailType: typ, Source: "src", Time: at, Detail: json.RawMessage(detail)}, AggregateID: agg}
		b, _ := s.item(ev)
		got, err := s.decode(b)
		if err != nil {
			t.Fatalf("decode(%s): %v", b, err)
		}
		wantAgg := agg
		if strings.HasPrefix(agg, cosmosNoAggregate) {
			wantAgg = ""
		}
		if got.ID != id || got.AggregateID != wantAgg || got.DetailType != typ || !got.Time.Equal(at) {
			t.Errorf("item %s came back as %+v", b, got)
		}
		var inner string
		if json.Unmarshal([]byte(detail), &inner) == nil && (strings.HasPrefix(strings.TrimSpace(inner), "{") || strings.HasPrefix(strings.TrimSpace(inner), "[")) {
			return // a string of a JSON object reads as the object (containers filled by other tools)
		}
		if json.Valid([]byte(detail)) && len(detail) > 0 && !jsonEqual(got.Detail, []byte(detail)) {
			t.Errorf("detail %s came back as %s", detail, got.Detail)
		}
	})
}

func TestCosmosConfigFor(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		name     string
		store    providers.StoreSpec
		endpoint string
		getenv   func(string) string
		ok       bool
		code     providers.Code // of the error; Unknown for none
		db, ctr  string
		key      string
	}{
		{name: "no store", ok: false},
		{name: "local store", store: providers.StoreSpec{Type: "local"}},
		{name: "other cloud's", store: providers.StoreSpec{Type: "dynamodb", Table: "t"}, code: providers.InvalidArgument},
		{name: "container", store: providers.StoreSpec{Type: "cosmos", Table: "ev"}, endpoint: "https://a/", ok: true, db: "evcli", ctr: "ev"},
		{name: "database and container", store: providers.StoreSpec{Type: "cosmos", Table: "db/ev"}, endpoint: "https://a/", ok: true, db: "db", ctr: "ev"},
		{name: "defaults", store: providers.StoreSpec{Type: "cosmos"}, endpoint: "https://b/", ok: true, db: "evcli", ctr: "events"},
		{name: "emulator key", store: providers.StoreSpec{Type: "cosmos"}, endpoint: "https://127.0.0.1:8081/", getenv: env("EVCLI_AZURE_COSMOS_KEY", cosmosEmulatorKey), ok: true, db: "evcli", ctr: "events", key: cosmosEmulatorKey},
		{name: "three parts", store: providers.StoreSpec{Type: "cosmos", Table: "a/b/c"}, endpoint: "https://a/", code: providers.InvalidArgument},
		{name: "empty container", store: providers.StoreSpec{Type: "cosmos", Table: "db/"}, endpoint: "https://a/", code: providers.InvalidArgument},
		{name: "ttl attribute", store: providers.StoreSpec{Type: "cosmos", Keys: providers.StoreKeys{TTL: "expireAfter"}}, endpoint: "https://a/", code: providers.InvalidArgument},
		{name: "evcli.yaml's default ttl attribute", store: providers.StoreSpec{Type: "cosmos", Keys: providers.StoreKeys{TTL: "expiresAt"}}, endpoint: "https://a/", ok: true, db: "evcli", ctr: "events"},
		{name: "no endpoint", store: providers.StoreSpec{Type: "cosmos"}, code: providers.Unconfigured},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, ok, err := cosmosConfigFor(providers.OpenOptions{Store: c.store, Getenv: c.getenv}, c.endpoint, testToken{})
			if providers.CodeOf(err) != c.code || (err != nil) != (c.code != providers.Unknown) {
				t.Fatalf("err = %v (code %v), want code %v", err, providers.CodeOf(err), c.code)
			}
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if !ok {
				return
			}
			s, err := newCosmosStore(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if s.cfg.Database != c.db || s.cfg.Container != c.ctr || s.cfg.Key != c.key {
				t.Errorf("store on %s/%s key %q, want %s/%s key %q", s.cfg.Database, s.cfg.Container, s.cfg.Key, c.db, c.ctr, c.key)
			}
		})
	}
}

// TestCosmosPages reads through continuation tokens: pages of 3 items.
func TestCosmosPages(t *testing.T) {
	ep, hc := testenv.CosmosDB(t)
	s := testCosmosStore(t, ep, hc, "pages", 0)
	s.cfg.PageSize = 3
	ctx := context.Background()
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 10 {
		agg := []string{"a", "b"}[i%2]
		ev := providers.StoredEvent{Event: providers.Event{ID: fmt.Sprintf("p%02d", i), DetailType: "T", Source: "s", Time: base.Add(time.Duration(i) * time.Second),
			Detail: json.RawMessage(fmt.Sprintf(`{"aggregateId":%q,"version":%d}`, agg, i/2+1))}}
		if err := s.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		q    providers.EventQuery
		want string
	}{
		{providers.EventQuery{}, "p00 p01 p02 p03 p04 p05 p06 p07 p08 p09"},
		{providers.EventQuery{AggregateIDs: []string{"b", "a"}}, "p01 p03 p05 p07 p09 p00 p02 p04 p06 p08"},
		{providers.EventQuery{AggregateIDs: []string{"a"}, Since: base.Add(3 * time.Second), Limit: 2}, "p04 p06"},
	} {
		var got []string
		for ev, err := range s.Events(ctx, c.q) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ev.ID)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("Events(%+v) = %v, want %s", c.q, got, c.want)
		}
	}
}

// FuzzCosmosDeriveKeys holds the Cosmos store's extraction of the
// aggregate id, version and correlation id equal to the local store's, the
// one every evcli store follows.
func FuzzCosmosDeriveKeys(f *testing.F) {
	for _, d := range []string{
		`{"aggregateId":"a","version":2,"correlationId":"c"}`,
		`{"aggregate_id":"a","aggregateVersion":"7","metadata":{"correlation_id":"m"}}`,
		`{"aggregateId":"","aggregate_id":5,"version":1.5,"correlation_id":""}`,
		`{"aggregateId":null,"version":"x","metadata":[1]}`,
		`[1,2]`, `"s"`, `not json`, `{"aggregateId" : "a" , "version" : -3}`,
	} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, detail string) {
		a := providers.StoredEvent{Event: providers.Event{Detail: json.RawMessage(detail)}}
		b := a
		cosmosDeriveKeys(&a)
		localstore.DeriveKeys(&b)
		if a.AggregateID != b.AggregateID || a.AggregateVersion != b.AggregateVersion || a.CorrelationID != b.CorrelationID {
			t.Errorf("detail %s: cosmos %q/%d/%q, local %q/%d/%q", detail, a.AggregateID, a.AggregateVersion, a.CorrelationID, b.AggregateID, b.AggregateVersion, b.CorrelationID)
		}
	})
}
