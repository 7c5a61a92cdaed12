package local

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
	"github.com/evcli/evcli/providers/providertest"
)

// TestDeliveredInvocationsLogWithTheirCorrelationID: every line of an
// invocation the bus delivers is stored with the event's correlation id —
// START, the handler's plain text, the runtime's error lines, END and
// REPORT, none of which names it — so that tail puts them in their flow
// however late the handler's first JSON line comes. A direct invoke, which
// no flow caused, stores none.
func TestDeliveredInvocationsLogWithTheirCorrelationID(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not in PATH: the handler is a Python function (install Python 3)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	path, sha, err := providertest.PythonArtifact(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = NewDeployer(db, dir, func(context.Context, string) error { return nil }).ApplyFunction(ctx, providers.FunctionDeployment{
		Name: "fn", Runtime: providertest.PythonRuntime, Handler: providertest.PythonHandler, ArtifactPath: path, CodeSha256: sha,
		Rules: []providers.RuleSpec{{ID: "fn-rule", Pattern: json.RawMessage(`{"source":["shop"]}`)}}}, false, nil)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	e, err := Start(ctx, Options{Dir: dir, Retries: -1, Warnf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	events := []providers.Event{
		{Source: "shop", DetailType: "OrderCreated", Detail: json.RawMessage(`{"correlationId":"c0ffee00-0000-4000-8000-000000000001"}`)},
		{Source: "shop", DetailType: "OrderCreated", Detail: json.RawMessage(`{"correlationId":"c0ffee00-0000-4000-8000-000000000002"}`)},
	}
	res, err := e.Send(ctx, "", events, true)
	if err != nil || len(res.Deliveries) != 2 {
		e.Close()
		t.Fatalf("Send = %+v, %v; want 2 deliveries", res, err)
	}
	direct, err := e.Invoke(ctx, "fn", []byte(`{"mark":"direct"}`))
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	if err := e.Close(); err != nil { // stores the lines still batched
		t.Fatal(err)
	}

	db, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lines, errc := db.Logs(ctx, providers.LogQuery{})
	byRequest := map[string][]providers.LogLine{}
	for l := range lines {
		byRequest[l.RequestID] = append(byRequest[l.RequestID], l)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// The handler prints "conformance id=<event id>": which request served
	// which event, whatever the lines' correlation ids say.
	corrOf := map[string]string{"": ""} // event id -> correlation id ("": the direct invoke)
	for i, ev := range events {
		var d struct{ CorrelationID string }
		_ = json.Unmarshal(ev.Detail, &d)
		corrOf[res.Results[i].EventID] = d.CorrelationID
	}
	want := map[string]string{} // request id -> correlation id
	for id, ls := range byRequest {
		for _, l := range ls {
			if rest, ok := strings.CutPrefix(l.Message, "conformance id="); ok {
				ev, _, _ := strings.Cut(rest, " ")
				want[id] = corrOf[ev]
			}
		}
	}
	if _, ok := want[direct.RequestID]; !ok {
		t.Errorf("no handler line of the direct invoke %s", direct.RequestID)
	}
	if len(want) != 3 {
		t.Fatalf("found %d invocations in the logs, want 3:\n%s", len(want), dumpLines(byRequest))
	}
	for id, corr := range want {
		kinds := map[string]bool{}
		for _, l := range byRequest[id] {
			if l.CorrelationID != corr {
				t.Errorf("line of request %s has correlation id %q, want %q: %s", id, l.CorrelationID, corr, l.Message)
			}
			for _, k := range []string{"START ", "END ", "REPORT ", "conformance id="} {
				if strings.HasPrefix(l.Message, k) {
					kinds[k] = true
				}
			}
		}
		if len(kinds) != 4 {
			t.Errorf("request %s: lines %v, want START, END, REPORT and the handler's plain text:\n%s", id, kinds, dumpLines(byRequest))
		}
	}
}

func dumpLines(byRequest map[string][]providers.LogLine) string {
	var b strings.Builder
	for id, ls := range byRequest {
		for _, l := range ls {
			b.WriteString("  " + id + " [" + l.CorrelationID + "] " + l.Message + "\n")
		}
	}
	return b.String()
}
