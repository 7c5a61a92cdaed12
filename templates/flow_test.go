package templates

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/project"
)

// The flow tests run each scaffold's real handlers, one invocation per
// delivered event, as the local provider would: Go handlers are built and
// served one event through a minimal Lambda Runtime API; Node and Python
// handlers are called through their exported handler. Events they publish go
// to a fake PutEvents endpoint (AWS_ENDPOINT_URL_EVENTBRIDGE), are matched
// against evcli.yaml's patterns and delivered in turn until nothing is left.

// envelope is an event as a target receives it.
type envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// fakeBus is an EventBridge PutEvents endpoint (AWS JSON 1.1).
type fakeBus struct {
	mu      sync.Mutex
	entries []putEntry
}

type putEntry struct {
	Source       string `json:"Source"`
	DetailType   string `json:"DetailType"`
	Detail       string `json:"Detail"`
	EventBusName string `json:"EventBusName"`
}

func (b *fakeBus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
		http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusBadRequest)
		return
	}
	var in struct{ Entries []putEntry }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, `{"__type":"ValidationException"}`, http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.entries = append(b.entries, in.Entries...)
	b.mu.Unlock()
	out := struct {
		FailedEntryCount int
		Entries          []map[string]string
	}{}
	for range in.Entries {
		out.Entries = append(out.Entries, map[string]string{"EventId": "published"})
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func (b *fakeBus) take() []putEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries
	b.entries = nil
	return e
}

// invoker runs one function on one event and returns its stdout lines.
// reqID is the invocation's request ID, which Lambda hands the handler.
type invoker func(t *testing.T, fn project.Function, env []string, ev envelope, reqID string) ([]string, error)

type delivery struct {
	Function   string
	DetailType string
	RequestID  string
	Lines      []string
}

// runFlow delivers first and everything it causes; it returns the
// deliveries in order and every event put on the bus.
func runFlow(t *testing.T, p *project.Project, inv invoker, busURL string, bus *fakeBus, first envelope) ([]delivery, []envelope) {
	t.Helper()
	queue := []envelope{first}
	var all []envelope
	var out []delivery
	seq := 1
	for len(queue) > 0 {
		ev := queue[0]
		queue = queue[1:]
		all = append(all, ev)
		if len(all) > 30 {
			t.Fatal("more than 30 events: the flow does not end")
		}
		for _, fn := range p.Functions {
			if !triggers(t, fn, ev.Source, ev.DetailType) {
				continue
			}
			env := []string{
				"AWS_ENDPOINT_URL_EVENTBRIDGE=" + busURL, "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
				"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true",
				"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
				"AWS_LAMBDA_FUNCTION_NAME=" + fn.Name,
			}
			for k, v := range fn.Environment {
				env = append(env, k+"="+v)
			}
			reqID := fmt.Sprintf("req-%d", len(out)+1)
			lines, err := inv(t, fn, env, ev, reqID)
			if err != nil {
				t.Fatalf("%s on %s: %v\n%s", fn.Name, ev.DetailType, err, strings.Join(lines, "\n"))
			}
			out = append(out, delivery{Function: fn.Name, DetailType: ev.DetailType, RequestID: reqID, Lines: lines})
			for _, e := range bus.take() {
				if e.EventBusName != p.Bus {
					t.Errorf("%s published to bus %q, want %q", fn.Name, e.EventBusName, p.Bus)
				}
				seq++
				queue = append(queue, envelope{Version: "0", ID: fmt.Sprintf("ev-%d", seq), DetailType: e.DetailType, Source: e.Source,
					Account: "000000000000", Time: "2024-05-01T10:00:00Z", Region: "us-east-1", Resources: []string{}, Detail: json.RawMessage(e.Detail)})
			}
		}
	}
	return out, all
}

func TestFlows(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every handler in a process of its own; skipped with -short")
	}
	type want struct {
		event      string
		deliveries []string // function:detail-type, in order
		published  []string // detail-types of every event, in order
	}
	flows := map[string][]want{
		"fan-out": {{
			event:      "order-created.json",
			deliveries: []string{"inventory:OrderCreated", "payment:OrderCreated", "notification:OrderCreated", "analytics:OrderCreated"},
			published:  []string{"OrderCreated"},
		}},
		"event-sourcing": {{
			event:      "order-placed.json",
			deliveries: []string{"orders:OrderPlaced", "projection:OrderPlaced", "projection:OrderConfirmed"},
			published:  []string{"OrderPlaced", "OrderConfirmed"},
		}, {
			event:      "order-placed-invalid.json",
			deliveries: []string{"orders:OrderPlaced", "projection:OrderPlaced", "projection:OrderRejected"},
			published:  []string{"OrderPlaced", "OrderRejected"},
		}},
		"saga": {{
			event:      "order-created.json",
			deliveries: []string{"payment:OrderCreated", "inventory:PaymentCompleted", "shipment:InventoryReserved"},
			published:  []string{"OrderCreated", "PaymentCompleted", "InventoryReserved", "ShipmentScheduled"},
		}, {
			event: "order-created-shipment-fails.json",
			deliveries: []string{"payment:OrderCreated", "inventory:PaymentCompleted", "shipment:InventoryReserved",
				"inventory:ShipmentFailed", "payment:InventoryReleased"},
			published: []string{"OrderCreated", "PaymentCompleted", "InventoryReserved", "ShipmentFailed", "InventoryReleased", "PaymentRefunded"},
		}},
	}
	bus := &fakeBus{}
	srv := httptest.NewServer(bus)
	defer srv.Close()

	each(t, func(t *testing.T, tmpl, lang string) {
		dir := filepath.Join(t.TempDir(), "shop")
		if _, err := Render(tmpl, lang, "shop", dir); err != nil {
			t.Fatal(err)
		}
		p, err := project.Load(filepath.Join(dir, "evcli.yaml"), project.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var inv invoker
		switch lang {
		case "go":
			inv = goInvoker(t, p)
		case "node":
			inv = nodeInvoker(t, dir)
		case "python":
			inv = pythonInvoker(t, dir)
		}
		for _, w := range flows[tmpl] {
			t.Run(w.event, func(t *testing.T) {
				bus.take()
				var first envelope
				data, err := os.ReadFile(filepath.Join(dir, "events", w.event))
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(data, &first); err != nil {
					t.Fatal(err)
				}
				first.ID, first.Version, first.Time, first.Region, first.Account = "ev-1", "0", "2024-05-01T10:00:00Z", "us-east-1", "000000000000"
				var detail struct{ CorrelationID string }
				json.Unmarshal(first.Detail, &detail)

				got, events := runFlow(t, p, inv, srv.URL, bus, first)
				var gotDeliveries, gotTypes []string
				for _, d := range got {
					gotDeliveries = append(gotDeliveries, d.Function+":"+d.DetailType)
					if len(d.Lines) == 0 {
						t.Errorf("%s logged nothing", d.Function)
					}
					for _, l := range d.Lines {
						var rec map[string]any
						if err := json.Unmarshal([]byte(l), &rec); err != nil {
							t.Errorf("%s: log line is not one JSON object: %q", d.Function, l)
							continue
						}
						if rec["requestId"] != d.RequestID {
							t.Errorf("%s: log line requestId %v, want the invocation's %s: %s", d.Function, rec["requestId"], d.RequestID, l)
						}
						if rec["correlationId"] != detail.CorrelationID {
							t.Errorf("%s: log line correlationId %v, want %s: %s", d.Function, rec["correlationId"], detail.CorrelationID, l)
						}
					}
				}
				for _, e := range events {
					gotTypes = append(gotTypes, e.DetailType)
					var d struct {
						CorrelationID string `json:"correlationId"`
						CausationID   string `json:"causationId"`
						AggregateID   string `json:"aggregateId"`
						Version       int    `json:"version"`
					}
					json.Unmarshal(e.Detail, &d)
					if d.CorrelationID != detail.CorrelationID {
						t.Errorf("%s carries correlationId %q, want %q", e.DetailType, d.CorrelationID, detail.CorrelationID)
					}
					if e.ID != "ev-1" && d.CausationID == "" {
						t.Errorf("%s has no causationId", e.DetailType)
					}
					if tmpl == "event-sourcing" && (d.AggregateID == "" || d.Version == 0) {
						t.Errorf("%s lacks aggregateId/version: %s", e.DetailType, e.Detail)
					}
					if tmpl == "event-sourcing" && e.DetailType != "OrderPlaced" && d.Version != 2 {
						t.Errorf("%s version %d, want 2", e.DetailType, d.Version)
					}
				}
				if !slices.Equal(gotDeliveries, w.deliveries) {
					t.Errorf("deliveries\n got %v\nwant %v", gotDeliveries, w.deliveries)
				}
				if !slices.Equal(gotTypes, w.published) {
					t.Errorf("events\n got %v\nwant %v", gotTypes, w.published)
				}
			})
		}
	})
}

func splitLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func pythonInvoker(t *testing.T, projectDir string) invoker {
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Skip(t, "python3", "install Python 3")
	}
	if exec.Command(py, "-c", "import boto3").Run() != nil {
		testenv.Skip(t, "boto3 (the AWS SDK for Python)", "pip install boto3")
	}
	const driver = `import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
class Context:
    aws_request_id = sys.argv[3]
m.handler(json.loads(sys.argv[2]), Context())
`
	return func(t *testing.T, fn project.Function, env []string, ev envelope, reqID string) ([]string, error) {
		body, _ := json.Marshal(ev)
		cmd := exec.Command(py, "-c", driver, filepath.Join(projectDir, fn.Source, "app.py"), string(body), reqID)
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return splitLines(out), fmt.Errorf("%v: %s", err, stderr.String())
		}
		return splitLines(out), nil
	}
}

func nodeInvoker(t *testing.T, projectDir string) invoker {
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Skip(t, "node", "install Node.js 20 or later")
	}
	// A stand-in for @aws-sdk/client-eventbridge (which Lambda provides and
	// npm install fetches): it sends the same PutEvents request to
	// AWS_ENDPOINT_URL_EVENTBRIDGE. Placed above the functions so that
	// require() finds it the way it finds an installed package.
	stub := filepath.Join(projectDir, "node_modules", "@aws-sdk", "client-eventbridge", "index.js")
	os.MkdirAll(filepath.Dir(stub), 0o755)
	os.WriteFile(stub, []byte(`class PutEventsCommand { constructor(input) { this.input = input; } }
class EventBridgeClient {
  async send(cmd) {
    const res = await fetch(process.env.AWS_ENDPOINT_URL_EVENTBRIDGE, {method: 'POST',
      headers: {'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSEvents.PutEvents'}, body: JSON.stringify(cmd.input)});
    if (!res.ok) throw new Error('PutEvents: HTTP ' + res.status);
    return res.json();
  }
}
module.exports = { EventBridgeClient, PutEventsCommand };
`), 0o644)
	const driver = `require(process.argv[1]).handler(JSON.parse(process.argv[2]), {awsRequestId: process.argv[3]}).then(() => {}, (e) => { console.error(e); process.exit(1); });`
	return func(t *testing.T, fn project.Function, env []string, ev envelope, reqID string) ([]string, error) {
		body, _ := json.Marshal(ev)
		cmd := exec.Command(node, "-e", driver, filepath.Join(projectDir, fn.Source, "index.js"), string(body), reqID)
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return splitLines(out), fmt.Errorf("%v: %s", err, stderr.String())
		}
		return splitLines(out), nil
	}
}

// goInvoker builds every function of p for this machine and serves each
// invocation through a minimal Lambda Runtime API.
func goInvoker(t *testing.T, p *project.Project) invoker {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	bins := map[string]string{}
	binDir := t.TempDir()
	for _, fn := range p.Functions {
		bin := filepath.Join(binDir, fn.Name)
		// The flags and environment evcli's packaging uses (for this
		// machine's architecture): the dependencies compiled here are the
		// ones deploy finds in the build cache, and the other way round.
		cmd := exec.Command(goBin, deploy.GoBuildArgs(bin)...)
		cmd.Dir = filepath.Join(p.Dir, fn.Source)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", fn.Name, err, out)
		}
		bins[fn.Name] = bin
	}
	return func(t *testing.T, fn project.Function, env []string, ev envelope, reqID string) ([]string, error) {
		body, _ := json.Marshal(ev)
		rt := newRuntimeAPI(body, reqID)
		defer rt.close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bins[fn.Name])
		cmd.Env = append(os.Environ(), env...)
		cmd.Env = append(cmd.Env, "AWS_LAMBDA_RUNTIME_API="+rt.addr)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		var res runtimeResult
		select {
		case res = <-rt.done:
		case <-ctx.Done():
		}
		cmd.Process.Kill()
		cmd.Wait()
		lines := splitLines(stdout.Bytes())
		if res.path == "" {
			return lines, fmt.Errorf("no response from the handler: %s", stderr.String())
		}
		if strings.HasSuffix(res.path, "/error") {
			return lines, fmt.Errorf("handler error: %s %s", res.body, stderr.String())
		}
		return lines, nil
	}
}

type runtimeResult struct {
	path string
	body string
}

type runtimeAPI struct {
	ln   net.Listener
	srv  *http.Server
	addr string
	done chan runtimeResult
}

// newRuntimeAPI serves one event to the first /invocation/next and reports
// the handler's /response or /error; later /next calls wait.
func newRuntimeAPI(event []byte, reqID string) *runtimeAPI {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	rt := &runtimeAPI{ln: ln, addr: ln.Addr().String(), done: make(chan runtimeResult, 1)}
	var once sync.Once
	stop := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		served := false
		once.Do(func() {
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", reqID)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:f")
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
			w.Write(event)
			served = true
		})
		if !served {
			select {
			case <-stop:
			case <-r.Context().Done():
			}
		}
	})
	report := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case rt.done <- runtimeResult{path: r.URL.Path, body: string(b)}:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", report)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", report)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", report)
	rt.srv = &http.Server{Handler: mux}
	rt.srv.RegisterOnShutdown(func() { close(stop) })
	go rt.srv.Serve(ln)
	return rt
}

func (rt *runtimeAPI) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rt.srv.Shutdown(ctx)
}
