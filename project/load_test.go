package project

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestLoadBad loads every testdata/bad/*.yaml and compares the error with
// its .golden file.
func TestLoadBad(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			p, err := Load(file, LoadOptions{})
			if err == nil {
				t.Fatalf("Load(%s) = %+v, want an error", file, p)
			}
			var ds *Diagnostics
			if !errors.As(err, &ds) {
				t.Fatalf("Load(%s) error is %T, want *Diagnostics: %v", file, err, err)
			}
			for _, d := range ds.List {
				if (d.File != file && !strings.HasSuffix(d.File, ".asl.json")) || d.Msg == "" {
					t.Errorf("diagnostic without file or message: %+v", d)
				}
			}
			if name != "empty" && ds.List[0].Line == 0 {
				t.Errorf("first diagnostic has no line: %s", ds.List[0])
			}
			golden(t, strings.TrimSuffix(file, ".yaml")+".golden", err.Error())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./project -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test ./project -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "evcli.yaml"), LoadOptions{})
	var ds *Diagnostics
	if !errors.As(err, &ds) || len(ds.List) != 1 || !strings.Contains(ds.List[0].String(), "no such file") {
		t.Fatalf("got %v, want one 'no such file' diagnostic", err)
	}
	_, err = Load(t.TempDir(), LoadOptions{})
	if !errors.As(err, &ds) || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("got %v, want 'is a directory'", err)
	}
}

func TestLoadMinimal(t *testing.T) {
	p, err := Load("testdata/good/minimal.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := &Project{
		Path:     "testdata/good/minimal.yaml",
		Dir:      "testdata/good",
		Name:     "shop",
		Provider: "local",
		Region:   "us-east-1",
		Bus:      "default",
		Store:    EventStore{Type: "local", Table: "shop-events", Keys: DefaultStoreKeys},
		Functions: []Function{{
			Name: "inventory", Source: "functions/inventory", Runtime: "provided.al2023", Handler: "bootstrap",
			Architecture: "x86_64", MemoryMB: 128, TimeoutS: 3,
		}},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got\n%+v\nwant\n%+v", p, want)
	}
}

func TestLoadFull(t *testing.T) {
	p, err := Load("testdata/good/full.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := &Project{
		Path:     "testdata/good/full.yaml",
		Dir:      "testdata/good",
		Name:     "shop",
		Provider: "aws",
		Region:   "eu-west-1",
		Bus:      "shop-bus",
		Store: EventStore{Type: "dynamodb", Table: "shop-events-v2", TTLDays: 30, Keys: StoreKeys{
			Aggregate: "aggId", Sort: "ts", ID: "eventId", Type: "eventType", Data: "payload", Version: "v", TTL: "expiresAt",
		}},
		Prices: &PriceTable{GBSecondX86: 0.0000166667, GBSecondArm: 0.0000133334, PerMillionReq: 0.20},
		Functions: []Function{
			{
				Name: "inventory", Source: "functions/inventory", Runtime: "provided.al2023", Handler: "bootstrap",
				Architecture: "arm64", MemoryMB: 256, TimeoutS: 10, Concurrency: 5,
				Environment: map[string]string{"LOG_LEVEL": "info", "TABLE": "shop-events-v2"},
				Secrets:     []string{"API_KEY"},
				Correlation: "$.detail.correlationId",
				Role:        "arn:aws:iam::123456789012:role/shop-inventory",
				Events: []EventSource{
					{Bus: "shop-bus", Pattern: json.RawMessage(`{"source":["shop.orders"],"detail-type":["OrderCreated"]}`), Pos: Pos{28, 18}},
					{Bus: "audit-bus", Pattern: json.RawMessage(`{"source":["shop.audit"],"detail":{"amount":[{"numeric":[">",100]}]}}`), Pos: Pos{30, 18}},
				},
			},
			{
				Name: "orders", Source: "functions/orders", Runtime: "nodejs22.x", Handler: "index.handler",
				Architecture: "x86_64", MemoryMB: 128, TimeoutS: 3,
				Events: []EventSource{
					{Bus: "shop-bus", Pattern: json.RawMessage(`{"source":["shop.web"],"detail":{"express":[true],"retries":[0,1.5],"note":[null]}}`), Pos: Pos{37, 11}},
				},
			},
			{
				Name: "notify", Source: "functions/notify", Runtime: "python3.13", Handler: "app.handler",
				Architecture: "x86_64", MemoryMB: 128, TimeoutS: 3,
				Environment: map[string]string{"SENDER": "noreply@example.com"},
				Events: []EventSource{
					{Bus: "shop-bus", Pattern: json.RawMessage(`{"source":["shop.payments"],"detail-type":["PaymentFailed"]}`), Pos: Pos{49, 18}},
				},
			},
		},
	}
	if len(p.Functions) != len(want.Functions) {
		t.Fatalf("got %d functions, want %d", len(p.Functions), len(want.Functions))
	}
	for i := range want.Functions {
		g, w := p.Functions[i], want.Functions[i]
		for j := range g.Events {
			g.Events[j].Members = nil // TestPatternMemberPositions checks them
		}
		for j := range min(len(g.Events), len(w.Events)) {
			if string(g.Events[j].Pattern) != string(w.Events[j].Pattern) {
				t.Errorf("%s.events[%d].pattern = %s, want %s", w.Name, j, g.Events[j].Pattern, w.Events[j].Pattern)
			}
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("function %d:\ngot  %+v\nwant %+v", i, g, w)
		}
	}
	p.Functions, want.Functions = nil, nil
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got\n%+v\nwant\n%+v", p, want)
	}
}

// TestPrecedence checks flag > EVCLI_* > file > default for each layer.
func TestPrecedence(t *testing.T) {
	withRegion := "testdata/good/full.yaml" // provider aws, region eu-west-1, bus shop-bus
	minimal := "testdata/good/minimal.yaml" // nothing set
	tests := []struct {
		name    string
		file    string
		flags   map[string]string
		env     []string
		want    map[string]string // provider, region, bus, store.type, store.table, project
		wantErr string
	}{
		{name: "defaults", file: minimal,
			want: map[string]string{"provider": "local", "region": "us-east-1", "bus": "default", "store.type": "local", "store.table": "shop-events"}},
		{name: "file beats default", file: withRegion,
			want: map[string]string{"provider": "aws", "region": "eu-west-1", "bus": "shop-bus", "store.type": "dynamodb", "store.table": "shop-events-v2"}},
		{name: "env beats file", file: withRegion,
			env:  []string{"EVCLI_PROVIDER=local", "EVCLI_REGION=us-west-2", "EVCLI_BUS=other-bus", "EVCLI_STORE_TABLE=t-events"},
			want: map[string]string{"provider": "local", "region": "us-west-2", "bus": "other-bus", "store.type": "dynamodb", "store.table": "t-events"}},
		{name: "env beats default", file: minimal,
			env:  []string{"EVCLI_PROVIDER=gcp", "EVCLI_PROJECT=shop-alice"},
			want: map[string]string{"provider": "gcp", "region": "", "bus": "default", "store.type": "firestore", "store.table": "shop-alice-events", "project": "shop-alice"}},
		{name: "flag beats env", file: withRegion,
			flags: map[string]string{"provider": "azure", "region": "westeurope"},
			env:   []string{"EVCLI_PROVIDER=local", "EVCLI_REGION=us-west-2"},
			want:  map[string]string{"provider": "azure", "region": "westeurope", "bus": "shop-bus", "store.type": "dynamodb"}},
		{name: "flag beats default", file: minimal,
			flags: map[string]string{"provider": "aws"},
			want:  map[string]string{"provider": "aws", "region": "", "store.type": "dynamodb"}},
		{name: "empty values do not override", file: withRegion,
			flags: map[string]string{"provider": ""}, env: []string{"EVCLI_REGION="},
			want: map[string]string{"provider": "aws", "region": "eu-west-1"}},
		{name: "first duplicate env wins", file: minimal,
			env:  []string{"EVCLI_REGION=eu-north-1", "EVCLI_REGION=us-west-1"},
			want: map[string]string{"region": "eu-north-1"}},
		{name: "other variables ignored", file: minimal,
			env:  []string{"REGION=x", "EVCLI_DEBUG=1", "AWS_REGION=eu-west-3"},
			want: map[string]string{"region": "us-east-1"}},
		{name: "bad env value blamed on the variable", file: minimal,
			env: []string{"EVCLI_PROVIDER=awz"}, wantErr: "EVCLI_PROVIDER: unknown provider \"awz\"\n    did you mean \"aws\"?"},
		{name: "bad flag value blamed on the flag", file: minimal,
			flags: map[string]string{"region": "Europe West"}, wantErr: "--region: \"Europe West\" is not a valid region"},
		{name: "gcp settings from the file", file: "testdata/good/gcp.yaml",
			want: map[string]string{"provider": "gcp", "gcp.project": "shop-prod-4821", "gcp.guard": "in-function", "store.type": "firestore"}},
		{name: "--project beats EVCLI_GCP_PROJECT beats the file", file: "testdata/good/gcp.yaml",
			flags: map[string]string{"gcp.project": "shop-dev-1"}, env: []string{"EVCLI_GCP_PROJECT=shop-ci-2", "EVCLI_GCP_GUARD=off"},
			want: map[string]string{"gcp.project": "shop-dev-1", "gcp.guard": ""}},
		{name: "EVCLI_GCP_PROJECT beats the file", file: "testdata/good/gcp.yaml",
			env:  []string{"EVCLI_GCP_PROJECT=example.com:shop-ci-2"},
			want: map[string]string{"gcp.project": "example.com:shop-ci-2"}},
		{name: "no gcp project: the environment's", file: minimal,
			want: map[string]string{"gcp.project": "", "gcp.guard": ""}},
		{name: "bad --project blamed on the flag", file: minimal,
			flags: map[string]string{"gcp.project": "Shop_Prod"}, wantErr: "--project: \"Shop_Prod\" is not a Google Cloud project id"},
		{name: "bad guard blamed on the variable", file: minimal,
			env: []string{"EVCLI_GCP_GUARD=infunction"}, wantErr: "EVCLI_GCP_GUARD: unknown guard mode \"infunction\"\n    did you mean \"in-function\"?"},
		{name: "azure settings from the file", file: "testdata/good/azure.yaml",
			want: map[string]string{"provider": "azure", "store.type": "cosmos", "azure.subscription": "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
				"azure.resourceGroup": "shop-prod", "azure.location": "northeurope"}},
		{name: "--subscription and --resource-group beat EVCLI_AZURE_* beat the file", file: "testdata/good/azure.yaml",
			flags: map[string]string{"azure.subscription": "11111111-2222-3333-4444-555555555555", "azure.resourceGroup": "shop-dev"},
			env:   []string{"EVCLI_AZURE_SUBSCRIPTION=22222222-2222-3333-4444-555555555555", "EVCLI_AZURE_RESOURCE_GROUP=shop-ci", "EVCLI_AZURE_LOCATION=eastus2"},
			want:  map[string]string{"azure.subscription": "11111111-2222-3333-4444-555555555555", "azure.resourceGroup": "shop-dev", "azure.location": "eastus2"}},
		{name: "EVCLI_AZURE_RESOURCE_GROUP beats the file", file: "testdata/good/azure.yaml",
			env:  []string{"EVCLI_AZURE_RESOURCE_GROUP=shop-ci"},
			want: map[string]string{"azure.resourceGroup": "shop-ci", "azure.subscription": "0b1f6471-1bf0-4dda-aec3-cb9272f09590"}},
		{name: "--region beats azure.location", file: "testdata/good/azure.yaml",
			flags: map[string]string{"region": "swedencentral"},
			want:  map[string]string{"region": "swedencentral", "azure.location": "swedencentral"}},
		{name: "no azure settings: the environment's", file: minimal,
			want: map[string]string{"azure.subscription": "", "azure.resourceGroup": "", "azure.location": ""}},
		{name: "bad --subscription blamed on the flag", file: minimal,
			flags: map[string]string{"azure.subscription": "my-sub"}, wantErr: "--subscription: \"my-sub\" is not an Azure subscription id"},
		{name: "bad --resource-group blamed on the flag", file: minimal,
			flags: map[string]string{"azure.resourceGroup": "shop."}, wantErr: "--resource-group: \"shop.\" is not an Azure resource group name"},
		{name: "bad EVCLI_AZURE_LOCATION blamed on the variable", file: minimal,
			env: []string{"EVCLI_AZURE_LOCATION=West Europe"}, wantErr: "EVCLI_AZURE_LOCATION: \"West Europe\" is not an Azure location"},
		{name: "flag value checked even when env is wrong too", file: minimal,
			flags: map[string]string{"provider": "gpc"}, env: []string{"EVCLI_PROVIDER=azrue"},
			wantErr: "EVCLI_PROVIDER: unknown provider \"azrue\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(tt.file, LoadOptions{Flags: tt.flags, Environ: tt.env})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{"provider": p.Provider, "region": p.Region, "bus": p.Bus,
				"store.type": p.Store.Type, "store.table": p.Store.Table, "project": p.Name,
				"gcp.project": p.GCP.Project, "gcp.guard": p.GCP.Guard,
				"azure.subscription": p.Azure.Subscription, "azure.resourceGroup": p.Azure.ResourceGroup, "azure.location": p.Azure.Location}
			for k, w := range tt.want {
				if got[k] != w {
					t.Errorf("%s = %q, want %q", k, got[k], w)
				}
			}
		})
	}
}

// TestEventBusDefault: an event without bus: follows the project's bus,
// including an overridden one.
func TestEventBusDefault(t *testing.T) {
	p, err := Load("testdata/good/full.yaml", LoadOptions{Environ: []string{"EVCLI_BUS=staging-bus"}})
	if err != nil {
		t.Fatal(err)
	}
	inv := p.Function("inventory")
	if inv.Events[0].Bus != "staging-bus" || inv.Events[1].Bus != "audit-bus" {
		t.Errorf("buses = %q, %q; want staging-bus, audit-bus", inv.Events[0].Bus, inv.Events[1].Bus)
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		in      string
		options []string
		want    string
	}{
		{"memroy", functionKeys, "memory"},
		{"Memory", functionKeys, "memory"},
		{"runtim", functionKeys, "runtime"},
		{"env", functionKeys, "environment"},
		{"xyz", functionKeys, ""},
		{"pyhton3.12", Runtimes, "python3.12"},
		{"nodejs22", Runtimes, "nodejs22.x"},
		{"node", Runtimes, "nodejs22.x"},
		{"awz", Providers, "aws"},
		{"azrue", Providers, "azure"},
		{"arm", Architectures, "arm64"},
		{"", Providers, ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, tt.options); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestAliasBomb: a billion-laughs file is refused quickly, not expanded.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("project: shop\nx-0: &a0 [1,1,1,1,1,1,1,1,1]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "x-%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("functions:\n  a:\n    source: functions/inventory\n    runtime: provided.al2023\n    events:\n      - pattern: {k: *a9}\n")
	_, err := load("testdata/good/bomb.yaml", []byte(b.String()), LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "too many values") {
		t.Fatalf("got %v, want a 'too many values' diagnostic", err)
	}
}

func BenchmarkLoad(b *testing.B) {
	full, err := os.ReadFile("testdata/good/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	// A 100-function file with a syntax error near the end: the cost of
	// locating it by re-parsing prefixes.
	var big strings.Builder
	big.WriteString("project: shop\nfunctions:\n")
	for i := range 100 {
		fmt.Fprintf(&big, "  f%d:\n    source: functions/inventory\n    runtime: provided.al2023\n    memory: 256\n", i)
	}
	big.WriteString("  broken:\n    environment:\n      GREETING: hello: world\n")
	for _, bm := range []struct {
		name string
		data []byte
	}{{"full", full}, {"syntax-error-400-lines", []byte(big.String())}} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.data)))
			for b.Loop() {
				_, _ = load("testdata/good/evcli.yaml", bm.data, LoadOptions{})
			}
		})
	}
}

// TestLoadWorkflows: an ASL file is kept as written and a saga: is
// compiled into the seed's shape (testdata/good/order-saga.asl.golden),
// which validates and names the project's functions.
func TestLoadWorkflows(t *testing.T) {
	p, err := Load("testdata/good/workflows.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Workflows) != 2 {
		t.Fatalf("%d workflows", len(p.Workflows))
	}
	a := p.Workflow("order-asl")
	if a == nil || a.DefinitionFile != "workflows/order.asl.json" || a.Type != "STANDARD" || a.Correlation != "$.orderId" || len(a.Definition) == 0 {
		t.Errorf("order-asl = %+v", a)
	}
	s := p.Workflow("order-saga")
	if s == nil || s.Type != "EXPRESS" || s.DefinitionFile != "" {
		t.Fatalf("order-saga = %+v", s)
	}
	golden(t, "testdata/good/order-saga.asl.golden", string(s.Definition)+"\n")
}
