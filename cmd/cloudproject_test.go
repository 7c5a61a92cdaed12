package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers"
)

// TestCloudProjectAndGuardReachTheDriver: the Google Cloud project comes
// from --project, then EVCLI_GCP_PROJECT, then evcli.yaml's gcp.project
// ("" leaves it to the driver: GOOGLE_CLOUD_PROJECT, then the
// credentials'); gcp.guard: in-function (or EVCLI_GCP_GUARD) is the
// driver's InFunctionGuard. A wrong --project is a usage error naming the
// flag.
func TestCloudProjectAndGuardReachTheDriver(t *testing.T) {
	const withGCP = "project: shop\nprovider: gcp\nregion: europe-west1\ngcp:\n  project: shop-prod-4821\n  guard: in-function\nfunctions:\n  orders: {source: functions/orders, runtime: nodejs22.x, handler: index.handler}\n"
	const without = "project: shop\nprovider: gcp\nregion: europe-west1\nfunctions:\n  orders: {source: functions/orders, runtime: nodejs22.x, handler: index.handler}\n"
	tests := []struct {
		name, yaml string
		args       []string
		env        []string
		project    string
		guard      bool
		code       int
	}{
		{name: "evcli.yaml", yaml: withGCP, project: "shop-prod-4821", guard: true},
		{name: "EVCLI_GCP_PROJECT beats evcli.yaml", yaml: withGCP, env: []string{"EVCLI_GCP_PROJECT=shop-ci-7", "EVCLI_GCP_GUARD=off"}, project: "shop-ci-7"},
		{name: "--project beats both", yaml: withGCP, args: []string{"--project", "shop-dev-3"}, env: []string{"EVCLI_GCP_PROJECT=shop-ci-7"}, project: "shop-dev-3", guard: true},
		{name: "none: the driver's fallback", yaml: without, project: ""},
		{name: "guard from the environment", yaml: without, env: []string{"EVCLI_GCP_GUARD=in-function"}, guard: true},
		{name: "bad --project", yaml: without, args: []string{"--project", "Shop"}, code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAWSCmdEnv(t)
			os.MkdirAll(filepath.Join(e.dir, "functions", "orders"), 0o755)
			if err := os.WriteFile(filepath.Join(e.dir, "evcli.yaml"), []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			e.f.Environ = func() []string { return tt.env }
			var got *providers.OpenOptions
			d := &drainingProvider{closedBy: make(chan string, 2)}
			open := openAs(d.open)
			e.f.OpenProvider = func(ctx context.Context, name string, o providers.OpenOptions) (*providers.Provider, error) {
				got = &o
				return open(ctx, name, o)
			}
			ev := filepath.Join(e.dir, "ev.json")
			os.WriteFile(ev, []byte(`{"source":"shop","detail-type":"X","detail":{}}`), 0o644)
			code := e.run(append([]string{"send", ev}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, e.errOut)
			}
			if tt.code != 0 {
				if want := "--project"; !strings.Contains(e.errOut.String(), want) {
					t.Errorf("stderr %q does not name %s", e.errOut, want)
				}
				return
			}
			if got == nil {
				t.Fatal("the provider was not opened")
			}
			if got.CloudProject != tt.project || got.InFunctionGuard != tt.guard {
				t.Errorf("CloudProject %q, InFunctionGuard %v; want %q, %v", got.CloudProject, got.InFunctionGuard, tt.project, tt.guard)
			}
		})
	}
}

// TestFilterTestTargetGCP: --target gcp prints, per pattern, the Pub/Sub
// filter and what only the in-function guard enforces, then evaluates as
// always; an unknown target is a usage error naming the known ones.
func TestFilterTestTargetGCP(t *testing.T) {
	e := newAWSCmdEnv(t)
	ev := filepath.Join(e.dir, "ev.json")
	os.WriteFile(ev, []byte(`{"source":"shop","detail-type":"X","detail":{"amount":500}}`), 0o644)
	code := e.run("filter", "test", "--target", "gcp", "--pattern", `{"source":["shop"],"detail":{"amount":[{"numeric":[">",100]}]}}`, "--event", ev)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	for _, want := range []string{`gcp: Pub/Sub subscription filter: attributes.ce-source = "shop"`,
		"gcp: only the in-function guard enforces detail.amount: numeric", "unless gcp.guard: in-function"} {
		if !strings.Contains(e.errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, e.errOut)
		}
	}
	if !strings.Contains(e.out.String(), "match") {
		t.Errorf("stdout %q", e.out)
	}
	if code := e.run("filter", "test", "--target", "gpc", "--pattern", `{"source":["shop"]}`, "--event", ev); code != 2 || !strings.Contains(e.errOut.String(), `--target "gpc": use azure, gcp`) {
		t.Errorf("unknown target: exit %d\n%s", code, e.errOut)
	}
}
