package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/azure/aztest"
	"github.com/evcli/evcli/providers/providertest"
)

const (
	testSubscription  = "00000000-0000-0000-0000-00000000e7c1"
	testResourceGroup = "evcli-conformance"
	testLocation      = "westeurope"
)

// TestConformance runs the whole provider conformance suite against the
// azure driver: aztest (ARM, SCM, function hosts and Event Grid's data
// plane in one in-process fake), aztest's Log Analytics and Azure Monitor
// metrics fakes, fed by every invocation the way Application Insights and
// the platform record it, fresh per check; and one cosmosdb-server (the
// event store, store.type cosmos, a container per check's project).
func TestConformance(t *testing.T) {
	ep, hc := testenv.CosmosDB(t)
	providertest.Run(t, func(ctx context.Context, t *testing.T) (providertest.Harness, error) {
		h := newHarness(t.TempDir())
		h.cosmosEndpoint, h.cosmosClient = ep, hc
		return h, nil
	})
}

type harness struct {
	fake    *aztest.Server
	logs    *aztest.LogsServer
	metrics *aztest.MetricsServer
	dir     string
	// cosmosEndpoint, when set, is the event store's emulator, reached
	// through cosmosClient.
	cosmosEndpoint string
	cosmosClient   *http.Client
	// envOver overrides (or, with "", removes) variables of env().
	envOver map[string]string
}

func newHarness(dir string, opts ...aztest.Option) *harness {
	h := &harness{logs: aztest.NewLogs(), metrics: aztest.NewMetrics(nil), dir: dir}
	h.fake = aztest.New(append([]aztest.Option{aztest.WithInvoke(h.run)}, opts...)...)
	return h
}

// run runs conformanceHandler as the Functions host does, and records the
// invocation as Azure does: its log lines as App Insights traces and the
// invocation as a request (InvocationId in customDimensions), and the
// app's execution count, units and working set as platform metrics.
func (h *harness) run(app aztest.App, body []byte) aztest.Result {
	res := conformanceHandler(app, body)
	now := time.Now().UTC()
	dims := map[string]string{"InvocationId": app.InvocationID}
	const durationMs = 12.5
	outcome := "Succeeded"
	if res.Status/100 != 2 {
		outcome = "Failed"
	}
	lines := append(res.Logs, fmt.Sprintf("Executed 'Functions.evcli-invoke' (%s, Id=%s, Duration=%gms)", outcome, app.InvocationID, durationMs))
	for i, l := range lines {
		h.logs.Add(aztest.Trace{Time: now, ItemID: fmt.Sprintf("%s-%02d", app.InvocationID, i), Message: l,
			Operation: "evcli-invoke", Role: app.Name, Instance: "instance-1", Severity: 1, Dimensions: dims})
	}
	h.logs.AddRequests(aztest.Request{Time: now, ID: "req-" + app.InvocationID, Operation: "evcli-invoke", Role: app.Name,
		DurationMs: durationMs, Success: res.Status/100 == 2, Dimensions: dims})
	site := "/subscriptions/" + testSubscription + "/resourceGroups/" + testResourceGroup + "/providers/Microsoft.Web/sites/" + app.Name
	h.metrics.Add(site, "OnDemandFunctionExecutionCount", aztest.MetricPoint{Time: now, Total: 1})
	h.metrics.Add(site, "OnDemandFunctionExecutionUnits", aztest.MetricPoint{Time: now, Total: 512 * durationMs})
	h.metrics.Add(site, "MemoryWorkingSet", aztest.MetricPoint{Time: now, Maximum: 60 << 20})
	return res
}

func (h *harness) env() map[string]string {
	u := h.fake.URL()
	env := map[string]string{
		EnvARMEndpoint:       u,
		EnvSCMEndpoint:       u + "/scm",
		EnvFunctionsEndpoint: u + "/functions",
		EnvEventGridEndpoint: u + "/eventgrid",
		EnvStorageEndpoint:   u + "/blob",
		EnvLogsEndpoint:      h.logs.URL(),
		EnvMetricsEndpoint:   h.metrics.URL(),
		envSubscription:      testSubscription,
		envResourceGroup:     testResourceGroup,
		envLocation:          testLocation,
	}
	if h.cosmosEndpoint != "" {
		env[EnvCosmosEndpoint], env[envCosmosKey] = h.cosmosEndpoint, cosmosEmulatorKey
	}
	for k, v := range h.envOver {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return env
}

func (h *harness) options(o providers.OpenOptions) providers.OpenOptions {
	o.Dir = h.dir
	o.Sleep = fastSleep
	env := h.env()
	o.Getenv = func(k string) string { return env[k] }
	return o
}

func (h *harness) Open(ctx context.Context, o providers.OpenOptions) (*providers.Provider, error) {
	if h.cosmosEndpoint != "" && o.Store.Type == "" {
		o.Store = providers.StoreSpec{Type: cosmosStoreType, Table: "conformance/" + o.Project}
	}
	p, err := open(ctx, h.options(o), h.transports())
	if err != nil {
		return nil, err
	}
	// The project's topic and storage exist, as after its first deploy
	// (the bus check publishes without deploying).
	changes, err := p.Shared.PlanShared(ctx, false)
	if err == nil {
		err = p.Shared.ApplyShared(ctx, changes, nil)
	}
	if err != nil {
		p.Close(ctx)
		return nil, err
	}
	return p, nil
}

// fastSleep keeps the driver's polling from slowing the suite.
func fastSleep(ctx context.Context, d time.Duration) error {
	return providers.Sleep(ctx, min(d, 2*time.Millisecond))
}

func (h *harness) Function(name string, variant int) (providers.FunctionDeployment, error) {
	path, sha, err := providertest.PythonArtifact(h.dir, variant)
	return providers.FunctionDeployment{Runtime: providertest.PythonRuntime, Handler: providertest.PythonHandler,
		ArtifactPath: path, CodeSha256: sha}, err
}

// transports trust the fakes' and the emulator's certificates.
func (h *harness) transports() map[string]policy.Transporter {
	t := map[string]policy.Transporter{"logs": h.logs.Client(), "metrics": h.metrics.Client()}
	if h.cosmosClient != nil {
		t["cosmos"] = missingDocFix{h.cosmosClient}
	}
	return t
}

// WriteEvents appends evs to p's store as the writer evcli deploys does
// for each event Event Grid delivers (the fake does not run the writer's
// Node code; TestStoreWriterFillsTheStore does, under node).
func (h *harness) WriteEvents(ctx context.Context, p *providers.Provider, evs []providers.StoredEvent) error {
	s, ok := p.Store.(*cosmosStore)
	if !ok {
		return fmt.Errorf("the provider's store is %T, not the Cosmos DB store", p.Store)
	}
	for _, ev := range evs {
		if err := s.Append(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

func (h *harness) Close() {
	h.fake.Close()
	h.logs.Close()
	h.metrics.Close()
}

// MutatingCalls are the fake's writes: ARM PUT, PATCH, DELETE and POSTs
// other than lists and key reads, and OneDeploy publishes (not publishing
// events: that is not deploying).
func (h *harness) MutatingCalls() []string { return h.fake.MutatingCalls() }

// Received is what Event Grid would deliver: every event published to
// the bus's topic, routed by the fake through the event subscriptions'
// filters with Event Grid's semantics, to the function the subscription
// names; where the app runs the in-function guard (EVCLI_GUARD), the
// whole pattern (package filter) decides whether its handler runs.
func (h *harness) Received(ctx context.Context, bus string, ids []string) (map[string][]string, error) {
	apps := map[string]aztest.App{}
	for _, a := range h.fake.Apps() {
		apps[a.Name] = a
	}
	dels, err := h.fake.Deliveries(Topic(bus))
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, d := range dels {
		if !slices.Contains(ids, d.EventID) {
			continue
		}
		a, ok := apps[d.App]
		if ok && isStoreWriter(a.Settings[SettingFunction]) {
			continue // the event store's writer, not one of the project's functions
		}
		if !ok {
			return nil, fmt.Errorf("subscription %s delivers to app %s, which does not exist", d.Subscription, d.App)
		}
		if a.Settings[SettingGuard] == "in-function" {
			var rules []providers.RuleSpec
			if err := json.Unmarshal([]byte(a.Settings[SettingRules]), &rules); err != nil {
				return nil, err
			}
			env, err := envelopeOf(d.Event)
			if err != nil {
				return nil, err
			}
			matched := false
			for _, r := range rules {
				if ok, err := filter.MustParse(string(r.Pattern)).Match(env); err == nil && ok {
					matched = true
				}
			}
			if !matched {
				continue
			}
		}
		out[d.EventID] = append(out[d.EventID], a.Settings[SettingFunction])
	}
	return out, nil
}

// envelopeOf is the EventBridge envelope evcli's entrypoint makes of a
// CloudEvent.
func envelopeOf(ce []byte) ([]byte, error) {
	var e CloudEvent
	if err := json.Unmarshal(ce, &e); err != nil {
		return nil, err
	}
	t, _ := time.Parse(time.RFC3339Nano, e.Time)
	return json.Marshal(providers.Event{Version: "0", ID: e.ID, Source: e.Source, DetailType: e.Type, Time: t, Detail: e.Data, Resources: []string{}})
}

// conformanceHandler is providertest.Handler as the fake runs it: echo,
// or fail (HTTP 500, as the Functions host answers when the handler
// raises).
func conformanceHandler(_ aztest.App, body []byte) aztest.Result {
	var ev struct {
		ID   string `json:"id"`
		Mark string `json:"mark"`
		Fail string `json:"fail"`
	}
	json.Unmarshal(body, &ev)
	logs := []string{fmt.Sprintf("conformance id=%s mark=%s", ev.ID, ev.Mark)}
	if ev.Fail != "" {
		return aztest.Result{Status: http.StatusInternalServerError, Body: []byte("RuntimeError: " + ev.Fail), Logs: logs}
	}
	return aztest.Result{Status: http.StatusOK, Body: body, Logs: logs}
}

var (
	_ providertest.MutationRecorder = (*harness)(nil)
	_ providertest.DeliveryObserver = (*harness)(nil)
	_ providertest.StoreWriter      = (*harness)(nil)
)
