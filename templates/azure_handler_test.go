package templates

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAzureGoCustomHandlerServesEvcliRoutes builds the azure saga's Go
// payment function and calls it as the Functions host does: at its own
// function's path, at /events (the Event Grid function evcli deploy adds,
// which the subscriptions deliver to) and at /evcli-invoke (the HTTP
// function behind evcli invoke, answered through the HTTP output "res").
func TestAzureGoCustomHandlerServesEvcliRoutes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a function; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	dir := filepath.Join(t.TempDir(), "shop")
	if _, err := RenderFor("saga", "go", "azure", "shop", dir); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command(goBin, "build", "-trimpath", "-o", bin, "./functions/payment")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	var mu sync.Mutex
	var published []string
	topic := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var batch []struct{ Type string }
		json.NewDecoder(r.Body).Decode(&batch)
		mu.Lock()
		for _, e := range batch {
			published = append(published, e.Type)
		}
		mu.Unlock()
	}))
	defer topic.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "FUNCTIONS_CUSTOMHANDLER_PORT="+port, "EVENTGRID_TOPIC_ENDPOINT="+topic.URL,
		"EVENTGRID_TOPIC_KEY=k", "EVENT_SOURCE=shop.payment")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }() // the handler serves until killed
	base := "http://127.0.0.1:" + port
	post := func(path string, body any) (int, []byte) {
		t.Helper()
		b, _ := json.Marshal(body)
		for deadline := time.Now().Add(time.Minute); ; {
			resp, err := http.Post(base+path, "application/json", bytes.NewReader(b))
			if err != nil {
				if time.Now().After(deadline) {
					t.Fatalf("the handler does not answer: %v\n%s", err, stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
				continue
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, out
		}
	}
	order := func(id string) map[string]any {
		return map[string]any{"specversion": "1.0", "id": id, "source": "shop.orders", "type": "OrderCreated",
			"time": "2026-01-01T00:00:00Z", "data": map[string]any{"orderId": id, "total": 10}}
	}
	for _, path := range []string{"/payment", "/events"} {
		status, out := post(path, map[string]any{"Data": map[string]any{"event": order("o" + path)}, "Metadata": map[string]any{"InvocationId": "inv"}})
		if status != 200 {
			t.Errorf("POST %s = %d %s", path, status, out)
		}
	}
	// The host gives an HTTP trigger's body as a string.
	ev, _ := json.Marshal(order("o-invoke"))
	status, out := post("/evcli-invoke", map[string]any{"Data": map[string]any{"req": map[string]any{"Method": "POST", "Body": string(ev)}},
		"Metadata": map[string]any{"InvocationId": "inv-7"}})
	var res struct {
		Outputs struct {
			Res struct {
				StatusCode int               `json:"statusCode"`
				Body       string            `json:"body"`
				Headers    map[string]string `json:"headers"`
			} `json:"res"`
		}
	}
	if err := json.Unmarshal(out, &res); status != 200 || err != nil || res.Outputs.Res.StatusCode != 200 || res.Outputs.Res.Headers["X-Evcli-Invocation-Id"] != "inv-7" {
		t.Errorf("POST /evcli-invoke = %d %s", status, out)
	}
	// A failing handler: a 500 through "res" with errorType and errorMessage.
	bad := order("o-bad")
	bad["data"] = "not an order"
	ev, _ = json.Marshal(bad)
	_, out = post("/evcli-invoke", map[string]any{"Data": map[string]any{"req": map[string]any{"Method": "POST", "Body": string(ev)}}})
	if err := json.Unmarshal(out, &res); err != nil || res.Outputs.Res.StatusCode != 500 || !strings.Contains(res.Outputs.Res.Body, `"errorMessage"`) {
		t.Errorf("POST /evcli-invoke of a bad event = %s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(published, ",") != "PaymentCompleted,PaymentCompleted,PaymentCompleted" {
		t.Errorf("published %v, want PaymentCompleted for each of the three orders", published)
	}
}
