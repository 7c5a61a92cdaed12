package fakecloud

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"

	"github.com/evcli/evcli/providers/azure/aztest"
	"github.com/evcli/evcli/providers/local/runtime"
)

// The subscription, resource group and location the fake Azure answers
// for (AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP, AZURE_LOCATION in Env).
const (
	AzureSubscription  = "00000000-0000-0000-0000-0000000fa4e0"
	AzureResourceGroup = "evcli-fake"
	AzureLocation      = "westeurope"
)

// AzureOptions configures StartAzure. All fields are optional.
type AzureOptions struct {
	// Log receives what the delivery loop and function runs have to say
	// that no API answers.
	Log io.Writer
	// EmulatorWait is how long cosmosdb-server may take to listen
	// (default 30 s).
	EmulatorWait time.Duration
	// DeliverEvery is how often the delivery loop looks for events
	// (default 50 ms).
	DeliverEvery time.Duration
	// TempDir holds the apps' unpacked packages (default: a new directory,
	// removed by Close).
	TempDir string
}

// Azure is a running fake Azure: aztest (ARM, SCM/OneDeploy, the function
// hosts, Event Grid's data plane), aztest's Log Analytics and metrics
// fakes, and cosmosdb-server for the event store. Event Grid's delivery
// is a loop that routes each published event through the topic's event
// subscriptions (aztest.Deliveries, Event Grid's filter semantics) and
// runs the subscribed app's code: a function app through the local
// runtime's Azure Functions host shim (evcli's entrypoint's events
// function when the package has it, see runApp), the store writer's function under
// node with its Cosmos DB output binding played by an upsert. Every run is
// recorded as Application Insights records it (traces and a request).
type Azure struct {
	// Env are the variables that point evcli at this fake, as NAME=value.
	Env []string

	ARM     *aztest.Server
	Logs    *aztest.LogsServer
	Metrics *aztest.MetricsServer

	cosmos                 *cosmosEmulator
	cosmosC                *azcosmos.Client
	logsProxy, metricProxy *httptest.Server
	runner                 *runner
	log                    io.Writer
	cancel                 context.CancelFunc
	done                   chan struct{}

	mu        sync.Mutex
	delivered map[string]bool      // event id + subscription: done (or given up)
	retries   map[string]*retrying // event id + subscription: failed so far
	seq       int
	runs      []AzureRun
}

// AzureRun is one run of a function app's code the fake's host made: a
// delivery from Event Grid or an invoke.
type AzureRun struct {
	// App is the function app; Function the function of its package the
	// host ran (events, evcli-invoke; the project's function name for a
	// package without evcli's entrypoint, and the store writer).
	App, Function, InvocationID string
	Status                      int
	// Logs are the run's lines, the host's Executed line last.
	Logs []string
	// Error is a failed run's answer (the runtime's error payload).
	Error string
}

// Runs are the runs so far, in the order they ended.
func (a *Azure) Runs() []AzureRun {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.runs)
}

// retrying is a delivery that failed: Event Grid retries it with growing
// delays and gives up after maxDeliveries (its dead-lettering is not
// played: the event is dropped).
type retrying struct {
	attempts int
	next     time.Time
}

const maxDeliveries = 4

// StartAzure starts the fake Azure. An error wrapping ErrAbsent says what
// is missing and how to install it.
func StartAzure(o AzureOptions) (a *Azure, err error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.EmulatorWait <= 0 {
		o.EmulatorWait = 30 * time.Second
	}
	if o.DeliverEvery <= 0 {
		o.DeliverEvery = 50 * time.Millisecond
	}
	a = &Azure{log: o.Log, delivered: map[string]bool{}, retries: map[string]*retrying{}, done: make(chan struct{})}
	var closers []func()
	defer func() {
		if err != nil {
			for _, c := range slices.Backward(closers) {
				c()
			}
		}
	}()
	if a.cosmos, err = startCosmos(o.EmulatorWait); err != nil {
		return nil, err
	}
	closers = append(closers, a.cosmos.stop)
	if a.runner, err = newRunner(o.TempDir, o.Log, ""); err != nil {
		return nil, err
	}
	closers = append(closers, a.runner.close)
	a.Logs, a.Metrics = aztest.NewLogs(), aztest.NewMetrics(nil)
	closers = append(closers, a.Logs.Close, a.Metrics.Close)
	if a.logsProxy, err = tlsProxy(a.Logs.URL(), a.Logs.Client()); err != nil {
		return nil, err
	}
	closers = append(closers, a.logsProxy.Close)
	if a.metricProxy, err = tlsProxy(a.Metrics.URL(), a.Metrics.Client()); err != nil {
		return nil, err
	}
	closers = append(closers, a.metricProxy.Close)
	ca, err := caFile(a.runner.dir, a.logsProxy)
	if err != nil {
		return nil, err
	}
	a.ARM = aztest.New(aztest.WithInvoke(func(app aztest.App, body []byte) aztest.Result {
		return a.run(app, app.InvocationID, body)
	}))
	closers = append(closers, a.ARM.Close)
	cred, err := azcosmos.NewKeyCredential(CosmosKey)
	if err != nil {
		return nil, err
	}
	if a.cosmosC, err = azcosmos.NewClientWithKey(a.cosmos.URL(), cred, &azcosmos.ClientOptions{ClientOptions: azcore.ClientOptions{
		InsecureAllowCredentialWithHTTP: true, Retry: policy.RetryOptions{MaxRetries: -1}}}); err != nil {
		return nil, err
	}

	u := a.ARM.URL()
	a.Env = []string{
		"AZURE_SUBSCRIPTION_ID=" + AzureSubscription,
		"AZURE_RESOURCE_GROUP=" + AzureResourceGroup,
		"AZURE_LOCATION=" + AzureLocation,
		"EVCLI_AZURE_ARM_ENDPOINT=" + u,
		"EVCLI_AZURE_SCM_ENDPOINT=" + u + "/scm",
		"EVCLI_AZURE_FUNCTIONS_ENDPOINT=" + u + "/functions",
		"EVCLI_AZURE_EVENTGRID_ENDPOINT=" + u + "/eventgrid",
		"EVCLI_AZURE_STORAGE_ENDPOINT=" + u + "/blob",
		"EVCLI_AZURE_LOGS_ENDPOINT=" + a.logsProxy.URL,
		"EVCLI_AZURE_METRICS_ENDPOINT=" + a.metricProxy.URL,
		"EVCLI_AZURE_COSMOS_ENDPOINT=" + a.cosmos.URL(),
		"EVCLI_AZURE_COSMOS_KEY=" + CosmosKey,
		// The Log Analytics and metrics fakes are HTTPS with httptest's
		// certificate (the SDK's token policy refuses plaintext).
		"SSL_CERT_FILE=" + ca,
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	go a.deliverLoop(ctx, o.DeliverEvery)
	return a, nil
}

// MutatingCalls are the writes the fake accepted (ARM PUT, PATCH, DELETE,
// POSTs other than lists and key reads, OneDeploy publishes); publishing
// events is not in it.
func (a *Azure) MutatingCalls() []string { return a.ARM.MutatingCalls() }

// Close stops everything StartAzure started.
func (a *Azure) Close() {
	a.cancel()
	<-a.done
	a.ARM.Close()
	a.logsProxy.Close()
	a.metricProxy.Close()
	a.Logs.Close()
	a.Metrics.Close()
	a.runner.close()
	a.cosmos.stop()
}

// deliverLoop is Event Grid's push: every tick, each event not yet
// delivered to a subscription goes to that subscription's app; a failed
// run is retried on a later tick, as Event Grid retries.
func (a *Azure) deliverLoop(ctx context.Context, every time.Duration) {
	defer close(a.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		a.deliver()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *Azure) deliver() {
	topics := map[string]bool{}
	for _, c := range a.ARM.Calls() {
		if t, ok := strings.CutPrefix(c.Resource, "eventgrid/"); ok {
			topics[t] = true
		}
	}
	apps := map[string]aztest.App{}
	for _, app := range a.ARM.Apps() {
		apps[strings.ToLower(app.Name)] = app
	}
	for topic := range topics {
		ds, err := a.ARM.Deliveries(topic)
		if err != nil {
			fmt.Fprintf(a.log, "fakecloud: event grid: topic %s: %v\n", topic, err)
			continue
		}
		for _, d := range ds {
			key := d.EventID + "\x00" + d.Subscription
			a.mu.Lock()
			done := a.delivered[key]
			rt := a.retries[key]
			a.mu.Unlock()
			app, ok := apps[strings.ToLower(d.App)]
			if done || !ok || app.Package == nil || rt != nil && time.Now().Before(rt.next) {
				continue
			}
			a.mu.Lock()
			a.seq++
			inv := fmt.Sprintf("fake-inv-%d", a.seq)
			a.mu.Unlock()
			res := a.run(app, inv, d.Event)
			a.mu.Lock()
			switch {
			case res.Status/100 == 2:
				a.delivered[key] = true
				delete(a.retries, key)
			case rt == nil:
				a.retries[key] = &retrying{attempts: 1, next: time.Now().Add(time.Second)}
			case rt.attempts+1 >= maxDeliveries:
				fmt.Fprintf(a.log, "fakecloud: event grid: event %s to %s failed %d times: dropped\n", d.EventID, d.App, rt.attempts+1)
				a.delivered[key] = true
				delete(a.retries, key)
			default:
				rt.attempts++
				rt.next = time.Now().Add(time.Duration(1<<rt.attempts) * time.Second)
			}
			a.mu.Unlock()
		}
	}
}

// run runs app's code for one event (a CloudEvent from Event Grid) or
// payload (evcli invoke), and records it as Application Insights does.
func (a *Azure) run(app aztest.App, invocation string, body []byte) aztest.Result {
	start := time.Now()
	var res aztest.Result
	// op is the function the host ran: evcli's entrypoint's events or
	// evcli-invoke, or, for a package without it, the function itself.
	op := app.Settings["EVCLI_FUNCTION"]
	if app.Settings["EVCLI_FUNCTION"] == storeWriter {
		res = a.runWriter(app, body)
	} else {
		res, op = a.runApp(app, body)
	}
	took := time.Since(start)
	now := time.Now().UTC()
	dims := map[string]string{"InvocationId": invocation}
	outcome := "Succeeded"
	if res.Status/100 != 2 {
		outcome = "Failed"
	}
	ms := float64(took.Microseconds()) / 1000
	lines := append(res.Logs, fmt.Sprintf("Executed 'Functions.%s' (%s, Id=%s, Duration=%gms)", op, outcome, invocation, ms))
	// Application Insights would record operation_Name as the host's
	// function (events), but the azure driver's tail, when it is given no
	// function, names a line's function by operation_Name (it maps
	// cloud_RoleName only for the functions asked for), so the fake keeps
	// the project's function name there.
	name := app.Settings["EVCLI_FUNCTION"]
	for i, l := range lines {
		a.Logs.Add(aztest.Trace{Time: now, ItemID: fmt.Sprintf("%s-%02d", invocation, i), Message: l,
			Operation: name, Role: app.Name, Instance: "instance-1", Severity: 1, Dimensions: dims})
	}
	a.Logs.AddRequests(aztest.Request{Time: now, ID: "req-" + invocation, Operation: name, Role: app.Name,
		DurationMs: ms, Success: res.Status/100 == 2, Dimensions: dims})
	a.mu.Lock()
	run := AzureRun{App: app.Name, Function: op, InvocationID: invocation, Status: res.Status, Logs: slices.Clone(lines)}
	if res.Status/100 != 2 {
		run.Error = string(res.Body)
	}
	a.runs = append(a.runs, run)
	a.mu.Unlock()
	site := "/subscriptions/" + AzureSubscription + "/resourceGroups/" + AzureResourceGroup + "/providers/Microsoft.Web/sites/" + app.Name
	a.Metrics.Add(site, "OnDemandFunctionExecutionCount", aztest.MetricPoint{Time: now, Total: 1})
	return res
}

// envelopeOf is the EventBridge envelope of an Event Grid delivery: a
// CloudEvent as the azure driver publishes it (type = detail-type, data =
// detail, subject = the first resource) put back together, for the local
// runtime's Azure host to deliver as Azure would; any other body as it is.
func envelopeOf(body []byte) []byte {
	var ce struct {
		SpecVersion string          `json:"specversion"`
		ID          string          `json:"id"`
		Source      string          `json:"source"`
		Type        string          `json:"type"`
		Time        string          `json:"time"`
		Subject     string          `json:"subject"`
		Data        json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &ce) != nil || ce.SpecVersion == "" {
		return body
	}
	env := map[string]any{"version": "0", "id": ce.ID, "source": ce.Source, "detail-type": ce.Type, "time": ce.Time,
		"resources": []string{}, "detail": json.RawMessage("{}")}
	if len(ce.Data) > 0 {
		env["detail"] = ce.Data
	}
	if ce.Subject != "" {
		env["resources"] = []string{ce.Subject}
	}
	b, err := json.Marshal(env)
	if err != nil {
		return body
	}
	return b
}

// entryManifest is the part of .evcli/entry.json, the manifest evcli's
// generated entrypoint adds to a published package (providers/azure,
// entry.go), that the fake host reads.
type entryManifest struct {
	Runtime string `json:"runtime"`
	// Entry is the entrypoint's file ("" for a custom handler).
	Entry string `json:"entry"`
	// Functions are the package's functions and their triggers.
	Functions map[string]string `json:"functions"`
}

// The functions evcli's entrypoint registers: Event Grid delivers to
// events, evcli invoke calls evcli-invoke.
const (
	entryEvents = "events"
	entryInvoke = "evcli-invoke"
)

// readEntry reads dir's .evcli/entry.json; ok is false when the package
// has none (it was published without evcli's entrypoint).
func readEntry(dir string) (m entryManifest, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, ".evcli", "entry.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, false, fmt.Errorf(".evcli/entry.json: %v", err)
	}
	return m, true, nil
}

// runApp runs what the Functions host runs for one delivery (events) or
// invoke (evcli-invoke; app.InvocationID is set) and returns the function
// it ran. A package with evcli's Node.js entrypoint runs it: the local
// runtime's Azure host shim loads evcli_entry.js (package.json's main),
// which loads the function's code (EVCLI_HANDLER) and registers events and
// evcli-invoke, and the shim calls the one asked for, so the in-function
// guard runs as in Azure; a Python package's evcli_entry.py (the script
// PYTHON_SCRIPT_FILE_NAME names) likewise through host.py. Any other
// package (no entrypoint; a Go custom handler, whose /events the local
// runtime cannot POST to yet) runs the function's handler (EVCLI_HANDLER)
// through the shim directly.
func (a *Azure) runApp(app aztest.App, body []byte) (aztest.Result, string) {
	op := app.Settings["EVCLI_FUNCTION"]
	dir, sum, err := a.runner.unpack(app.Name, app.Package)
	if err != nil {
		return azFailed(err), op
	}
	env := map[string]string{}
	for k, v := range app.Settings {
		env[k] = v
	}
	rt := app.Tags["evcli-runtime"]
	if env["FUNCTIONS_WORKER_RUNTIME"] == "" {
		switch {
		case strings.HasPrefix(rt, "nodejs"):
			env["FUNCTIONS_WORKER_RUNTIME"] = "node"
		case strings.HasPrefix(rt, "python"):
			env["FUNCTIONS_WORKER_RUNTIME"] = "python"
		default:
			env["FUNCTIONS_WORKER_RUNTIME"] = "custom"
		}
	}
	spec := runtime.FunctionSpec{Name: app.Name, Runtime: rt, Handler: app.Settings["EVCLI_HANDLER"],
		CodeDir: dir, MemoryMB: 512, TimeoutS: 60, Env: env, CodeSha256: sum}
	payload := envelopeOf(body)
	m, ok, err := readEntry(dir)
	if err != nil {
		return azFailed(err), op
	}
	module := ""
	switch {
	case !ok:
	case m.Entry == "evcli_entry.js":
		module = "evcli_entry"
	case strings.HasSuffix(m.Entry, ".py"):
		// The Python worker indexes the script PYTHON_SCRIPT_FILE_NAME names.
		module = strings.TrimSuffix(cmp.Or(app.Settings["PYTHON_SCRIPT_FILE_NAME"], m.Entry), ".py")
	}
	if module != "" {
		op = entryEvents
		if app.InvocationID != "" {
			// evcli-invoke's request body is the payload as given.
			op, payload = entryInvoke, body
		}
		if _, has := m.Functions[op]; !has {
			return azFailed(fmt.Errorf("the package's .evcli/entry.json registers no function %s", op)), op
		}
		// One runtime function per app function, each its own warm
		// instances, as the host keeps one worker for the app.
		spec.Name, spec.Handler = app.Name+"-"+op, module+"."+op
	}
	res, err := a.runner.invokeLocal(spec, payload)
	if err != nil {
		return azFailed(err), op
	}
	return aztest.Result{Status: res.Status, Body: res.Body, Logs: res.Logs}, op
}

// runWriter runs the store writer's function under node and writes what
// it returns as its Cosmos DB output binding does (an upsert).
func (a *Azure) runWriter(app aztest.App, body []byte) aztest.Result {
	dir, _, err := a.runner.unpack(app.Name, app.Package)
	if err != nil {
		return azFailed(err)
	}
	const shim = `const f = require(process.argv[1] + "/evcli-store-writer/index.js");
const ev = JSON.parse(require("fs").readFileSync(0, "utf8"));
Promise.resolve(f({ log: console.log }, ev)).then((it) => console.log("EVCLI_ITEM " + JSON.stringify(it)), (e) => { console.error(String(e)); process.exit(1); });`
	cmd := exec.Command("node", "--no-warnings", "-e", shim, dir)
	cmd.Stdin = strings.NewReader(string(body))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range app.Settings {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var item []byte
	var logs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if v, ok := strings.CutPrefix(l, "EVCLI_ITEM "); ok {
			item = []byte(v)
		} else if l != "" {
			logs = append(logs, l)
		}
	}
	if err != nil || item == nil {
		return aztest.Result{Status: 500, Logs: append(logs, fmt.Sprintf("the writer failed: %v", err))}
	}
	var keys struct {
		Aggregate string `json:"aggregate"`
	}
	json.Unmarshal([]byte(app.Settings["EVCLI_STORE_KEYS"]), &keys)
	var fields map[string]any
	if err := json.Unmarshal(item, &fields); err != nil {
		return azFailed(err)
	}
	pk, _ := fields[keys.Aggregate].(string)
	ctr, err := a.cosmosC.NewContainer(app.Settings["EVCLI_COSMOS_DATABASE"], app.Settings["EVCLI_COSMOS_CONTAINER"])
	if err != nil {
		return azFailed(err)
	}
	if _, err := ctr.UpsertItem(context.Background(), azcosmos.NewPartitionKeyString(pk), item, nil); err != nil {
		return aztest.Result{Status: 500, Logs: append(logs, "the Cosmos DB output binding: "+err.Error())}
	}
	return aztest.Result{Status: 200, Logs: logs}
}

func azFailed(err error) aztest.Result {
	return aztest.Result{Status: http.StatusInternalServerError, Body: []byte(err.Error()), Logs: []string{"fakecloud: " + err.Error()}}
}
