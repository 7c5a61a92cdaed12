package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitProvider: --provider gcp|azure writes handlers for that cloud,
// says so in the summary and the JSON line, and records it in evcli.yaml
// (handlers:) while the project stays on the local provider.
func TestInitProvider(t *testing.T) {
	for _, tt := range []struct{ provider, lang, summary, handlerFile, yaml string }{
		{"gcp", "node", "(fan-out template, Node.js Cloud Functions handlers, 16 files)", "functions/payment/index.js", "handlers: gcp\n"},
		{"gcp", "python", "(fan-out template, Python Cloud Functions handlers, 16 files)", "functions/payment/main.py", "handlers: gcp\n"},
		{"azure", "go", "(fan-out template, Go Azure Functions handlers, 18 files)", "functions/payment/payment/function.json", "handlers: azure\n"},
		{"local", "node", "(fan-out template, Node.js handlers, 12 files)", "functions/payment/index.js", "provider: local\n"},
	} {
		t.Run(tt.provider+"-"+tt.lang, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "shop")
			f, out, errOut := scaffoldFactory("evcli.yaml")
			if code := Run(context.Background(), f, []string{"init", dir, "--provider", tt.provider, "--lang", tt.lang}); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out.String(), tt.summary) {
				t.Errorf("summary %q does not say %q", strings.SplitN(out.String(), "\n", 2)[0], tt.summary)
			}
			if _, err := os.Stat(filepath.Join(dir, tt.handlerFile)); err != nil {
				t.Error(err)
			}
			y, _ := os.ReadFile(filepath.Join(dir, "evcli.yaml"))
			if !strings.Contains(string(y), tt.yaml) || !strings.Contains(string(y), "provider: local\n") {
				t.Errorf("evcli.yaml lacks %q or provider: local:\n%s", tt.yaml, y)
			}
		})
	}
	dir := filepath.Join(t.TempDir(), "shop")
	f, out, errOut := scaffoldFactory("evcli.yaml")
	if code := Run(context.Background(), f, []string{"init", dir, "--provider", "azure", "-l", "python", "-o", "json"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var p map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &p); err != nil || p["handlers"] != "azure" {
		t.Errorf("JSON %s: handlers %v (%v), want azure", lines[len(lines)-1], p["handlers"], err)
	}
}

func TestInitProviderErrors(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"init", "x", "--provider", "gpc"}, `unknown provider "gpc" (did you mean "gcp"?): use local, aws, gcp, azure`},
		{[]string{"init", "x", "--provider", "gcp", "-t", "saga-orchestrated", "-l", "node"}, "the saga-orchestrated template has no Node.js gcp handlers yet: use --template fan-out or event-sourcing or saga, or --provider aws"},
		{[]string{"init", "x", "--provider", "azure", "-t", "saga", "-l", "node"}, "the saga template has no Node.js azure handlers yet: use --template fan-out, or --provider aws"},
	} {
		// in a temporary directory, so a case that wrongly succeeds leaves
		// no project behind in the package's directory
		tt.args[1] = filepath.Join(t.TempDir(), tt.args[1])
		f, _, errOut := scaffoldFactory("evcli.yaml")
		if code := Run(context.Background(), f, tt.args); code != 2 || !strings.Contains(errOut.String(), tt.wantErr) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tt.args, code, errOut, tt.wantErr)
		}
	}
}
