package local

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

// envHandler returns the value of the variable named in the payload.
const envHandler = `import os


def handler(event, context):
    return {"value": os.environ.get(event.get("name", ""), "<unset>")}
`

// pythonZip writes files as a zip under dir and returns its path and
// CodeSha256.
func pythonZip(t *testing.T, dir string, files map[string]string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	path := filepath.Join(dir, "code.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, base64.StdEncoding.EncodeToString(sum[:])
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
}

// TestSecretsAreHashedForThePlanAndKeptForTheRuntime: a deployed secret is
// reported as a keyed hash (never its value); the plan of the same value is
// unchanged and of another value names the key only; the runtime gets the
// value deploy read, not the environment of the process that runs it.
func TestSecretsAreHashedForThePlanAndKeptForTheRuntime(t *testing.T) {
	needPython(t)
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, ".evcli")
	path, sha := pythonZip(t, root, map[string]string{"app.py": envHandler})
	prov, err := Open(ctx, providers.OpenOptions{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	defer prov.Close(ctx)
	want := providers.FunctionDeployment{Name: "f", Runtime: "python3.12", Handler: "app.handler", MemoryMB: 128, TimeoutS: 10,
		Env: map[string]string{"PLAIN": "x", "API_KEY": "deploy-time-value"}, SecretNames: []string{"API_KEY"},
		CodeSha256: sha, ArtifactPath: path}
	hasher := prov.Deployer.(providers.SecretHasher)
	plan := func(value string) deploy.Change {
		t.Helper()
		d := want
		d.Env = map[string]string{"PLAIN": "x", "API_KEY": value}
		var err error
		if d.SecretHashes, err = hasher.HashSecrets(ctx, map[string]string{"API_KEY": value}); err != nil {
			t.Fatal(err)
		}
		deployed, err := prov.Deployer.Deployed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return deploy.Plan([]providers.FunctionDeployment{d}, deployed, deploy.PlanOptions{})[0]
	}
	if c := plan("deploy-time-value"); c.Action != deploy.Create {
		t.Fatalf("first plan %s, want create", c.Action)
	}
	// A dry run before the first deploy made no key.
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, ok, _ := db.GetKV(ctx, kvSecretKey, secretKeyName); ok {
		t.Fatal("hashing for a plan stored a key")
	}
	if err := prov.Deployer.ApplyFunction(ctx, want, true, nil); err != nil {
		t.Fatal(err)
	}
	deployed, err := prov.Deployer.Deployed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := deployed[0].SecretHashes["API_KEY"]
	if len(h) != 64 || strings.Contains(h, "deploy-time-value") || deployed[0].Env["API_KEY"] != "" {
		t.Fatalf("deployed secret: hash %q, env %q; want a 64-digit hash and no value", h, deployed[0].Env["API_KEY"])
	}
	if c := plan("deploy-time-value"); c.Action != deploy.Unchanged {
		t.Errorf("same value planned %s %v, want unchanged", c.Action, c.Fields)
	}
	c := plan("a-new-value")
	if c.Action != deploy.Update || len(c.Fields) != 1 || c.Fields[0].Field != "environment ~API_KEY" {
		t.Errorf("new value planned %s %v, want update [environment ~API_KEY]", c.Action, c.Fields)
	}
	if b, _ := json.Marshal(c); strings.Contains(string(b), "value") && strings.Contains(string(b), "a-new-value") {
		t.Errorf("the plan holds the value: %s", b)
	}

	// The runtime reads the value deploy stored, not this environment.
	t.Setenv("API_KEY", "value-of-the-sending-shell")
	res, err := prov.Invoker.Invoke(ctx, "f", []byte(`{"name":"API_KEY"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Payload); !strings.Contains(got, `"deploy-time-value"`) {
		t.Errorf("handler saw API_KEY %s, want the deploy-time value", got)
	}
}

// TestFunctionLackingASecretIsRefused: a function whose deployment names a
// secret without a value (an older evcli stored the names only) is refused
// at invoke and at send, with one sentence naming the function, the
// secret and the fix; nothing is stored.
func TestFunctionLackingASecretIsRefused(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, ".evcli")
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutFunction(ctx, store.FunctionRecord{Name: "g", Runtime: "python3.12", Handler: "app.handler", CodeDir: root}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetRules(ctx, "g", []store.Rule{{ID: "g-0", Pattern: json.RawMessage(`{"source":["shop"]}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutKV(ctx, kvSecretNames, "g", []byte(`["DB_PASSWORD"]`)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	prov, err := Open(ctx, providers.OpenOptions{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	defer prov.Close(ctx)
	const sentence = "function g has no value for secret DB_PASSWORD (it was not set when it was deployed): export DB_PASSWORD and run evcli deploy"
	_, err = prov.Invoker.Invoke(ctx, "g", nil)
	var ms *MissingSecretError
	if !errors.As(err, &ms) || err.Error() != sentence {
		t.Fatalf("Invoke = %v, want %q", err, sentence)
	}
	evs := []providers.Event{
		{Source: "other", DetailType: "X", Detail: json.RawMessage(`{}`)},
		{Source: "shop", DetailType: "OrderCreated", Detail: json.RawMessage(`{}`)},
	}
	_, err = providers.PublishAll(ctx, prov.Bus, "", evs, prov.BusLimits, providers.RetryPolicy{})
	if err == nil || err.Error() != sentence {
		t.Fatalf("PublishAll = %v, want %q", err, sentence)
	}
	// An event no such function receives is sent.
	rep, err := providers.PublishAll(ctx, prov.Bus, "", evs[:1], prov.BusLimits, providers.RetryPolicy{})
	if err != nil || rep.Failed() != 0 {
		t.Fatalf("an event for nobody: %v %+v", err, rep)
	}
	// The engine refuses too (deliveries, the Lambda endpoint).
	e, err := Start(ctx, Options{Dir: dir, Retries: 2, Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Invoke(ctx, "g", nil); err == nil || err.Error() != sentence {
		t.Fatalf("Engine.Invoke = %v, want %q", err, sentence)
	}
	res, err := e.Send(ctx, "", evs[1:], true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deliveries) != 1 || res.Deliveries[0].Status != store.DeliveryFailed || res.Deliveries[0].Error != sentence || res.Deliveries[0].Attempts != 1 {
		t.Fatalf("delivery %+v, want failed at once (no retry can cure it) with %q", res.Deliveries, sentence)
	}
}
