package gcp

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers"
)

func envOf(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestOpenSaysWhatIsMissing(t *testing.T) {
	missingFile := filepath.Join(t.TempDir(), "nope.json")
	cases := []struct {
		name string
		o    providers.OpenOptions
		code providers.Code
		hint string
	}{
		{"no credentials", providers.OpenOptions{Project: "p", Region: "europe-west1",
			Getenv: envOf(map[string]string{envCredentials: missingFile, envProject: "my-proj"})},
			providers.Unauthenticated, "gcloud auth application-default login"},
		{"no project", providers.OpenOptions{Project: "p", Region: "europe-west1", Endpoint: "http://127.0.0.1:1",
			Getenv: envOf(map[string]string{envPubSub: "127.0.0.1:2"})},
			providers.Unconfigured, "GOOGLE_CLOUD_PROJECT"},
		{"no region", providers.OpenOptions{Project: "p", Endpoint: "http://127.0.0.1:1",
			Getenv: envOf(map[string]string{envPubSub: "127.0.0.1:2", envProject: "my-proj"})},
			providers.Unconfigured, "--region"},
		{"a bad endpoint", providers.OpenOptions{Project: "p", Region: "r", Endpoint: "ftp://x",
			Getenv: envOf(map[string]string{envProject: "my-proj"})},
			providers.InvalidArgument, "http://127.0.0.1:PORT"},
		{"another store", providers.OpenOptions{Project: "p", Region: "r", Store: providers.StoreSpec{Type: "dynamodb"}},
			providers.InvalidArgument, "store.type to firestore"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Open(context.Background(), c.o)
			if err == nil {
				p.Close(context.Background())
				t.Fatalf("Open succeeded, want code %v", c.code)
			}
			if providers.CodeOf(err) != c.code {
				t.Fatalf("Open = %v (code %v), want code %v", err, providers.CodeOf(err), c.code)
			}
			var pe *providers.Error
			if !asError(err, &pe) || !strings.Contains(pe.Hint, c.hint) {
				t.Errorf("Open's error %v has hint %q, want one naming %q", err, pe.Hint, c.hint)
			}
		})
	}
}

func TestOpenWithEmulatorsNeedsNoCredentials(t *testing.T) {
	p, err := Open(context.Background(), providers.OpenOptions{Project: "p", Region: "europe-west1", Endpoint: "http://127.0.0.1:1",
		Getenv: envOf(map[string]string{envPubSub: "127.0.0.1:2", envProject: "my-proj", envCredentials: "/nonexistent"})})
	if err != nil {
		t.Fatalf("Open against emulators and fakes only: %v", err)
	}
	defer p.Close(context.Background())
	if p.Name != "gcp" || p.Bus == nil {
		t.Errorf("Open = %+v, want the gcp provider with a bus", p)
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]endpoint{
		"http://127.0.0.1:8085":                  {addr: "127.0.0.1:8085", plain: true},
		"https://cloudfunctions.googleapis.com/": {addr: "cloudfunctions.googleapis.com:443"},
		"eu-cloudfunctions.example:443":          {addr: "eu-cloudfunctions.example:443"},
	} {
		got, err := parseEndpoint(in)
		if err != nil || got != want {
			t.Errorf("parseEndpoint(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

// TestMissingSaysOnlyWhatIsMissing: every ability the provider has is
// absent from Missing, and every reason for one not built says so rather
// than blaming Google Cloud.
func TestMissingSaysOnlyWhatIsMissing(t *testing.T) {
	p, err := Open(context.Background(), providers.OpenOptions{Project: "p", Region: "europe-west1", Endpoint: "http://127.0.0.1:1",
		Getenv: envOf(map[string]string{envPubSub: "127.0.0.1:2", envProject: "my-proj"})})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for a, why := range p.Missing {
		if p.Has(a) {
			t.Errorf("the provider has %s but Missing says %q", a, why)
		}
	}
}
