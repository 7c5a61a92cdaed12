package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers"
)

// TestAzureSettingsReachTheDriver: the subscription and resource group
// come from --subscription / --resource-group, then EVCLI_AZURE_*, then
// evcli.yaml's azure section ("" leaves them to the driver:
// AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP); the location from
// azure.location (--region beats it). A wrong flag is a usage error naming
// the flag.
func TestAzureSettingsReachTheDriver(t *testing.T) {
	const sub = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	const withAzure = "project: shop\nprovider: azure\nregion: westeurope\nazure:\n  subscription: " + sub + "\n  resourceGroup: shop-prod\n  location: northeurope\nfunctions:\n  orders: {source: functions/orders, runtime: nodejs22.x, handler: index.handler}\n"
	const without = "project: shop\nprovider: azure\nfunctions:\n  orders: {source: functions/orders, runtime: nodejs22.x, handler: index.handler}\n"
	tests := []struct {
		name, yaml          string
		args, env           []string
		sub, group, loc, rg string
		code                int
		says                string
	}{
		{name: "evcli.yaml", yaml: withAzure, sub: sub, group: "shop-prod", loc: "northeurope"},
		{name: "EVCLI_AZURE_* beat evcli.yaml", yaml: withAzure,
			env: []string{"EVCLI_AZURE_SUBSCRIPTION=11111111-2222-3333-4444-555555555555", "EVCLI_AZURE_RESOURCE_GROUP=shop-ci", "EVCLI_AZURE_LOCATION=eastus2"},
			sub: "11111111-2222-3333-4444-555555555555", group: "shop-ci", loc: "eastus2"},
		{name: "flags beat both", yaml: withAzure,
			args: []string{"--subscription", "22222222-2222-3333-4444-555555555555", "--resource-group", "shop-dev", "--region", "swedencentral"},
			env:  []string{"EVCLI_AZURE_RESOURCE_GROUP=shop-ci"},
			sub:  "22222222-2222-3333-4444-555555555555", group: "shop-dev", loc: "swedencentral"},
		{name: "none: the driver's fallback", yaml: without},
		{name: "bad --subscription", yaml: without, args: []string{"--subscription", "my-sub"}, code: 2, says: "--subscription"},
		{name: "bad --resource-group", yaml: without, args: []string{"--resource-group", "shop."}, code: 2, says: "--resource-group"},
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
				if !strings.Contains(e.errOut.String(), tt.says) {
					t.Errorf("stderr %q does not name %s", e.errOut, tt.says)
				}
				return
			}
			if got == nil {
				t.Fatal("the provider was not opened")
			}
			if got.Subscription != tt.sub || got.ResourceGroup != tt.group || got.Location != tt.loc {
				t.Errorf("Subscription %q, ResourceGroup %q, Location %q; want %q, %q, %q", got.Subscription, got.ResourceGroup, got.Location, tt.sub, tt.group, tt.loc)
			}
		})
	}
}

// azureProjectYAML is the AWS test project's functions, on azure.
const azureProjectYAML = "project: shop\nprovider: azure\nfunctions:\n  inventory: {source: functions/inventory, runtime: nodejs20.x, handler: index.handler}\n"

// TestAzureMissingSettingsExit4: through the command and the registered
// driver, a missing subscription, resource group or usable credential is
// one sentence with the fix and exit 4, before anything is deployed.
func TestAzureMissingSettingsExit4(t *testing.T) {
	// DefaultAzureCredential reads the process environment: only the
	// Azure CLI credential, and no az on PATH, so nothing is asked of the
	// network (the ARM endpoint is a closed port on this machine).
	t.Setenv("AZURE_TOKEN_CREDENTIALS", "AzureCLICredential")
	t.Setenv("PATH", t.TempDir())
	for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"} {
		t.Setenv(k, "")
	}
	const sub = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		says []string
	}{
		{"no subscription", nil, nil, []string{"no Azure subscription is set", "--subscription", "AZURE_SUBSCRIPTION_ID", "az account show"}},
		{"no resource group", []string{"--subscription", sub}, nil, []string{"no resource group is set", "--resource-group", "AZURE_RESOURCE_GROUP", "az group create"}},
		{"no credentials", []string{"--subscription", sub, "--resource-group", "shop"},
			map[string]string{"EVCLI_AZURE_ARM_ENDPOINT": "https://127.0.0.1:1"}, []string{"az login", "AZURE_CLIENT_ID"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newAWSCmdEnv(t)
			if err := os.WriteFile(filepath.Join(e.dir, "evcli.yaml"), []byte(azureProjectYAML), 0o644); err != nil {
				t.Fatal(err)
			}
			e.f.Getenv = func(k string) string { return c.env[k] }
			code := e.run(append([]string{"deploy", "--provider", "azure", "--yes"}, c.args...)...)
			if code != 4 {
				t.Fatalf("exit %d, want 4\n%s", code, e.errOut)
			}
			for _, s := range c.says {
				if !strings.Contains(e.errOut.String(), s) {
					t.Errorf("stderr does not say %q:\n%s", s, e.errOut)
				}
			}
		})
	}
}

// TestFilterTestTargetAzure: --target azure prints, per pattern, the
// Event Grid filter, where Event Grid's semantics differ and what it
// cannot enforce, then evaluates as always.
func TestFilterTestTargetAzure(t *testing.T) {
	e := newAWSCmdEnv(t)
	ev := filepath.Join(e.dir, "ev.json")
	os.WriteFile(ev, []byte(`{"source":"shop","detail-type":"X","detail":{"amount":500,"ip":"10.1.2.3"}}`), 0o644)
	code := e.run("filter", "test", "--target", "azure", "--pattern", `{"source":["shop"],"detail":{"amount":[{"numeric":[">",100]}]}}`,
		"--pattern", `{"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}`, "--event", ev)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	for _, want := range []string{`azure: Event Grid filter: {`, `"operatorType":"NumberGreaterThan","key":"data.amount"`,
		"azure: Event Grid delivers more than the pattern matches", "azure: Event Grid cannot enforce detail.ip: cidr", "EVCLI_AZURE_GUARD=in-function"} {
		if !strings.Contains(e.errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, e.errOut)
		}
	}
	if !strings.Contains(e.out.String(), "match") {
		t.Errorf("stdout %q", e.out)
	}
}

// TestFilterTestTargetAzureEvaluates: with --target azure each event also
// gets Event Grid's verdict, from the translated filter under Event Grid's
// semantics (strings without case), and says where it differs from
// EventBridge's; a pattern Event Grid cannot enforce whole is decided by
// its filter and the in-function guard together.
func TestFilterTestTargetAzureEvaluates(t *testing.T) {
	for _, tc := range []struct {
		name, pattern, event  string
		match, azure, differs bool
	}{
		{"both match", `{"source":["shop"],"detail":{"status":["paid"]}}`, `{"source":"shop","detail-type":"X","detail":{"status":"paid"}}`, true, true, false},
		{"case: Event Grid delivers", `{"source":["shop"],"detail":{"status":["paid"]}}`, `{"source":"shop","detail-type":"X","detail":{"status":"PAID"}}`, false, true, true},
		{"neither", `{"source":["shop"]}`, `{"source":"other","detail-type":"X","detail":{}}`, false, false, false},
		{"numeric range", `{"detail":{"amount":[{"numeric":[">",100,"<=",200]}]}}`, `{"source":"s","detail-type":"X","detail":{"amount":250}}`, false, false, false},
		{"guarded: the pattern decides", `{"detail":{"ip":[{"cidr":"10.0.0.0/8"}]}}`, `{"source":"s","detail-type":"X","detail":{"ip":"192.168.0.1"}}`, false, false, false},
		{"detail-type without case", `{"detail-type":["OrderPaid"]}`, `{"source":"s","detail-type":"orderpaid","detail":{}}`, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAWSCmdEnv(t)
			ev := filepath.Join(e.dir, "ev.json")
			os.WriteFile(ev, []byte(tc.event), 0o644)
			e.run("filter", "test", "--target", "azure", "--pattern", tc.pattern, "--event", ev, "-o", "json")
			var res filterResult
			for _, l := range strings.Split(e.out.String(), "\n") {
				if strings.Contains(l, `"type":"result"`) {
					if err := json.Unmarshal([]byte(l), &res); err != nil {
						t.Fatal(err)
					}
				}
			}
			if res.TargetMatch == nil || res.Target != "azure" {
				t.Fatalf("no azure verdict in %s\n%s", e.out, e.errOut)
			}
			if res.Match != tc.match || *res.TargetMatch != tc.azure || (len(res.TargetDiffers) > 0) != tc.differs {
				t.Errorf("EventBridge %v, azure %v, differs %v; want %v, %v, %v", res.Match, *res.TargetMatch, res.TargetDiffers, tc.match, tc.azure, tc.differs)
			}
		})
	}
}
