package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/providers/azure/aztest"
)

// TestAzureDeployNeverPrintsInsightsConnectionString: evcli deploy
// --debug on the Azure fakes creates the project's App Insights component
// and gives the app its connection string, which appears in no output,
// not even the debug lines; the deploy after it writes nothing.
func TestAzureDeployNeverPrintsInsightsConnectionString(t *testing.T) {
	fake := aztest.New()
	defer fake.Close()
	env := map[string]string{
		"EVCLI_AZURE_ARM_ENDPOINT":       fake.URL(),
		"EVCLI_AZURE_SCM_ENDPOINT":       fake.URL() + "/scm",
		"EVCLI_AZURE_FUNCTIONS_ENDPOINT": fake.URL() + "/functions",
		"EVCLI_AZURE_EVENTGRID_ENDPOINT": fake.URL() + "/eventgrid",
		"EVCLI_AZURE_STORAGE_ENDPOINT":   fake.URL() + "/blob",
		"AZURE_LOCATION":                 "westeurope",
	}
	e := newAWSCmdEnv(t)
	yaml := "project: shop\nprovider: azure\nfunctions:\n  inventory:\n    source: functions/inventory\n    runtime: nodejs20.x\n    handler: index.handler\n    events:\n      - pattern: {source: [shop.orders]}\n"
	if err := os.WriteFile(filepath.Join(e.dir, "evcli.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	e.f.Getenv = func(k string) string { return env[k] }
	args := []string{"deploy", "--yes", "--debug", "--subscription", "0b1f6471-1bf0-4dda-aec3-cb9272f09590", "--resource-group", "shop"}
	if code := e.run(args...); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, e.errOut)
	}
	printed := e.out.String() + e.errOut.String()
	var cs, key string
	for _, c := range fake.Components() {
		cs, _ = c["ConnectionString"].(string)
		key, _ = c["InstrumentationKey"].(string)
	}
	apps := fake.Apps()
	if cs == "" || len(apps) != 1 || apps[0].Settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] != cs {
		t.Fatalf("no component or the app lacks its connection string: %v %v", fake.Components(), apps)
	}
	if !strings.Contains(e.errOut.String(), "debug:") {
		t.Errorf("no debug lines:\n%s", e.errOut)
	}
	writes := len(fake.MutatingCalls())
	if code := e.run(args...); code != 0 {
		t.Fatalf("second deploy: exit %d\n%s", code, e.errOut)
	}
	printed += e.out.String() + e.errOut.String()
	if w := fake.MutatingCalls()[writes:]; len(w) != 0 {
		t.Errorf("the second deploy wrote %v", w)
	}
	for _, secret := range []string{cs, key} {
		if strings.Contains(printed, secret) {
			t.Errorf("the connection string's %q was printed:\n%s", secret, printed)
		}
	}
}
