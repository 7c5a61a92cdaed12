package gcp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

// TestExportRefusesWhatDeployRefuses: a pattern Pub/Sub cannot enforce is
// refused by export with the very error deploy gives (Unsupported, each
// operator with its file:line:col), and CloudFormation/SAM are refused as
// AWS formats.
func TestExportRefusesWhatDeployRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "src", "index.js"), []byte("exports.handler = async () => {};\n"), 0o644)
	file := filepath.Join(dir, "evcli.yaml")
	data := "project: shop\nprovider: gcp\nfunctions:\n  big:\n    source: src\n    runtime: nodejs22.x\n    handler: index.handler\n" +
		"    events:\n      - pattern: {source: [shop], detail: {amount: [{numeric: [\">\", 100]}]}}\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(file, project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHarness(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	h.envOver = map[string]string{EnvGuard: ""}
	prov := openOn(t, h, "shop")
	fd, err := h.Function("big", 1)
	if err != nil {
		t.Fatal(err)
	}
	fds := deploy.Desired(p, []deploy.Artifact{{Function: "big", Path: fd.ArtifactPath, CodeSha256: fd.CodeSha256}}, nil)
	deployErr := prov.Deployer.ApplyFunction(ctx, fds[0], true, nil)
	if providers.CodeOf(deployErr) != providers.Unsupported {
		t.Fatalf("deploy: %v, want Unsupported", deployErr)
	}
	off, err := Open(ctx, providers.OpenOptions{Project: "shop", Offline: true, Region: testRegion, CloudProject: testCloudProject,
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	_, exportErr := off.Exporter.Export(ctx, fds, providers.FormatTerraform)
	if exportErr == nil || exportErr.Error() != deployErr.Error() || providers.CodeOf(exportErr) != providers.Unsupported {
		t.Errorf("export refused with\n%v\ndeploy with\n%v", exportErr, deployErr)
	}
	for _, format := range []string{providers.FormatCloudFormation, providers.FormatSAM} {
		if _, err := off.Exporter.Export(ctx, fds, format); providers.CodeOf(err) != providers.Unsupported {
			t.Errorf("%s: %v, want Unsupported", format, err)
		}
	}
}

// TestOpenOfflineExportsOnly: opened offline, the provider has the
// Exporter alone and reads no credentials; it still needs the Google
// Cloud project and the region (the names carry them). Opened online it
// has the Exporter too.
func TestOpenOfflineExportsOnly(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{envCredentials: "/nonexistent/credentials.json"}
	getenv := func(k string) string { return env[k] }
	if _, err := Open(ctx, providers.OpenOptions{Project: "shop", Offline: true, Region: testRegion, Getenv: getenv}); providers.CodeOf(err) != providers.Unconfigured {
		t.Errorf("no Google Cloud project: %v, want Unconfigured", err)
	}
	if _, err := Open(ctx, providers.OpenOptions{Project: "shop", Offline: true, CloudProject: "p", Getenv: getenv}); providers.CodeOf(err) != providers.Unconfigured {
		t.Errorf("no region: %v, want Unconfigured", err)
	}
	env[envProject] = "from-env"
	p, err := Open(ctx, providers.OpenOptions{Project: "shop", Offline: true, Region: testRegion, Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Has(providers.AbilityExport) || p.Has(providers.AbilityDeploy) || p.Missing[providers.AbilityDeploy] == "" {
		t.Errorf("offline: export %v, deploy %v (%q)", p.Has(providers.AbilityExport), p.Has(providers.AbilityDeploy), p.Missing[providers.AbilityDeploy])
	}
	if got := p.Exporter.(*Exporter).d.c.cloudProject; got != "from-env" {
		t.Errorf("cloud project %q, want GOOGLE_CLOUD_PROJECT's", got)
	}
	_, online := deployEnv(t, "shop")
	if !online.Has(providers.AbilityExport) || online.Missing[providers.AbilityExport] != "" {
		t.Errorf("online: no Exporter (%q)", online.Missing[providers.AbilityExport])
	}
}

// TestExportRefusesSecrets: deploy makes Secret Manager secrets, the
// Terraform export does not write them yet, so it refuses rather than
// exporting a function without them.
func TestExportRefusesSecrets(t *testing.T) {
	h, p := deployEnv(t, "shop")
	fd := h.fn(t, "shop", "orders", 1)
	fd.Env["API_KEY"], fd.SecretNames = "never-exported-7070", []string{"API_KEY"}
	_, err := p.Exporter.Export(context.Background(), []providers.FunctionDeployment{fd}, "terraform")
	if providers.CodeOf(err) != providers.Unsupported || strings.Contains(err.Error(), "never-exported-7070") {
		t.Errorf("Export of a function with secrets = %v, want Unsupported without the value", err)
	}
}
