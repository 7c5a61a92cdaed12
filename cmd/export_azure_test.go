package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/evcli/evcli/internal/awsproject"
)

// Tests of evcli export --provider azure through the command: Terraform
// for azurerm (the configuration itself is checked against goldens and the
// fake in providers/azure), --check naming a changed memory with exit 2,
// CloudFormation/SAM refused. The azure provider is the registry's, opened
// offline: no credentials, no fake.

// azureExportDir renders tmpl as project shop on azure, where evcli.yaml's
// azure section says where it deploys.
func azureExportDir(t *testing.T, tmpl string) string {
	t.Helper()
	return awsproject.Render(t, tmpl, exportRegion, func(y string) string {
		return strings.Replace(y, "provider: aws\nregion: "+exportRegion+"\n",
			"provider: azure\nazure:\n  subscription: 0b1f6471-1bf0-4dda-aec3-cb9272f09590\n  resourceGroup: shop-prod\n  location: westeurope\n", 1)
	})
}

func azureExportEnv(t *testing.T, dir string) *awsCmdEnv {
	t.Helper()
	for _, k := range []string{"AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZURE_LOCATION", "EVCLI_AZURE_SUBSCRIPTION",
		"EVCLI_AZURE_RESOURCE_GROUP", "EVCLI_AZURE_LOCATION", "EVCLI_AZURE_COSMOS_ENDPOINT", "EVCLI_AZURE_COSMOS_ACCOUNT", "EVCLI_AZURE_GUARD"} {
		t.Setenv(k, "")
	}
	return exportEnv(t, dir)
}

func TestExportAzureCheckNamesTheChangedField(t *testing.T) {
	dir := azureExportDir(t, "fan-out")
	e := azureExportEnv(t, dir)
	out := filepath.Join(dir, "infra", "terraform")
	if code := e.run("export", "--format", "terraform", "--dir", out); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	committed := filepath.Join(out, "main.tf")
	b, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if _, diags := hclparse.NewParser().ParseHCL(b, "main.tf"); diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	for _, want := range []string{`resource "azurerm_function_app_flex_consumption" "inventory"`, `subscription_id = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"`,
		`name = "shop-prod"`, `resource "azurerm_eventgrid_topic" "bus"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("main.tf lacks %s", want)
		}
	}
	// No Cosmos DB endpoint: deploy has no store, so neither has the export.
	if strings.Contains(string(b), "azurerm_cosmosdb") || strings.Contains(string(b), "evcli-store-writer") {
		t.Error("main.tf has a store that deploy, without EVCLI_AZURE_COSMOS_ENDPOINT, would not create")
	}
	zips, _ := filepath.Glob(filepath.Join(out, "artifacts", "inventory-*.zip"))
	if len(zips) != 1 {
		t.Errorf("inventory's zip: %v", zips)
	}
	if code := e.run("export", "--check", committed); code != 0 {
		t.Fatalf("--check of a fresh export: exit %d\n%s%s", code, e.out, e.errOut)
	}
	yaml, _ := os.ReadFile(filepath.Join(dir, "evcli.yaml"))
	os.WriteFile(filepath.Join(dir, "evcli.yaml"), []byte(strings.Replace(string(yaml), "memory: 128", "memory: 1024", 1)), 0o644) // inventory is first
	if code := e.run("export", "--check", committed); code != 2 {
		t.Fatalf("--check after a memory change: exit %d, want 2\n%s%s", code, e.out, e.errOut)
	}
	const field = `~ resource.azurerm_function_app_flex_consumption.inventory.instance_memory_in_mb: 512 -> 2048`
	if !strings.Contains(e.out.String(), field+"\n") {
		t.Errorf("stdout does not name the field %q:\n%s", field, e.out)
	}
}

func TestExportAzureRefusesAWSFormats(t *testing.T) {
	dir := azureExportDir(t, "fan-out")
	e := azureExportEnv(t, dir)
	for _, format := range []string{"cloudformation", "sam"} {
		code := e.run("export", "--format", format, "--dir", filepath.Join(dir, "infra", format))
		if code != 2 || !strings.Contains(e.errOut.String(), "CloudFormation and SAM are AWS formats") {
			t.Errorf("%s: exit %d, want 2 saying they are AWS formats\n%s", format, code, e.errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, "infra", format)); err == nil {
			t.Errorf("%s: the refused export wrote a directory", format)
		}
	}
}
