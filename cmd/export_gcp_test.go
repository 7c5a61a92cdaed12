package cmd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/evcli/evcli/internal/awsproject"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers/gcp"
)

// Tests of evcli export --provider gcp: Terraform for the google provider,
// per template against a golden, parsed back with hclparse and checked
// against evcli.yaml; --check; CloudFormation/SAM refused. The gcp
// provider is the registry's, opened offline: no credentials, no fake.

const (
	gcpExportRegion  = "europe-west1"
	gcpExportProject = "shop-prod-4821"
)

// gcpExportProject renders template tmpl as project shop on gcp, with a
// Firestore store (collection shop-events, 30 days) where it has a store.
func gcpExportDir(t *testing.T, tmpl string) string {
	t.Helper()
	return awsproject.Render(t, tmpl, exportRegion, func(y string) string {
		y = strings.Replace(y, "provider: aws\nregion: "+exportRegion+"\n",
			"provider: gcp\nregion: "+gcpExportRegion+"\ngcp:\n  project: "+gcpExportProject+"\n", 1)
		return strings.Replace(y, "type: dynamodb", "type: firestore", 1)
	})
}

func gcpExportEnv(t *testing.T, dir string) *awsCmdEnv {
	t.Helper()
	for _, k := range []string{"GOOGLE_CLOUD_PROJECT", "EVCLI_GCP_PROJECT", gcp.EnvGuard, "GOOGLE_APPLICATION_CREDENTIALS"} {
		t.Setenv(k, "")
	}
	return exportEnv(t, dir)
}

func TestExportGCPGoldens(t *testing.T) {
	for _, tmpl := range []string{"fan-out", "event-sourcing", "saga"} {
		t.Run(tmpl, func(t *testing.T) {
			dir := gcpExportDir(t, tmpl)
			e := gcpExportEnv(t, dir)
			out := filepath.Join(dir, "infra", "terraform")
			if code := e.run("export", "--format", "terraform", "--dir", out); code != 0 {
				t.Fatalf("exit %d\n%s", code, e.errOut)
			}
			b, err := os.ReadFile(filepath.Join(out, "main.tf"))
			if err != nil {
				t.Fatal(err)
			}
			assertGolden(t, filepath.Join("testdata", "export", tmpl+".gcp.terraform.golden"), string(b))
			checkGCPTerraform(t, loadExported(t, dir), out, b)
			if code := e.run("export", "--format", "terraform", "--dir", out); code != 0 {
				t.Fatalf("second export: exit %d\n%s", code, e.errOut)
			}
			if again, _ := os.ReadFile(filepath.Join(out, "main.tf")); !bytes.Equal(again, b) {
				t.Fatal("a second export wrote a different template")
			}
		})
	}
}

// checkGCPTerraform parses the configuration with hclparse (no
// diagnostics) and checks the resources against the project: one function,
// bucket object and zip per function (and the writer with a store), one
// subscription per event with its filter, one invoker binding per function
// with events, the topic, the bucket and the TTL field.
func checkGCPTerraform(t *testing.T, p *project.Project, out string, b []byte) {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL(b, "main.tf")
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	type res struct {
		body  *hclsyntax.Body
		attrs map[string]string
	}
	byType := map[string]map[string]res{}
	for _, blk := range f.Body.(*hclsyntax.Body).Blocks {
		if blk.Type != "resource" {
			continue
		}
		r := res{body: blk.Body, attrs: map[string]string{}}
		for n, a := range blk.Body.Attributes {
			if v, d := a.Expr.Value(nil); !d.HasErrors() && v.Type().FriendlyName() == "string" {
				r.attrs[n] = v.AsString()
			}
		}
		if byType[blk.Labels[0]] == nil {
			byType[blk.Labels[0]] = map[string]res{}
		}
		byType[blk.Labels[0]][blk.Labels[1]] = r
	}
	fns, subs, invokers := len(p.Functions), 0, 0
	for _, fn := range p.Functions {
		subs += len(fn.Events)
		if len(fn.Events) > 0 {
			invokers++
		}
	}
	store := p.Store.Type == "firestore"
	if store {
		fns, subs, invokers = fns+1, subs+1, invokers+1
	}
	want := map[string]int{"google_cloudfunctions2_function": fns, "google_storage_bucket_object": fns, "google_pubsub_subscription": subs,
		"google_cloud_run_service_iam_member": invokers, "google_pubsub_topic": 1, "google_storage_bucket": 1}
	if store && p.Store.TTLDays > 0 {
		want["google_firestore_field"] = 1
	}
	total := 0
	for typ, n := range want {
		total += n
		if len(byType[typ]) != n {
			t.Errorf("%d %s, want %d", len(byType[typ]), typ, n)
		}
	}
	got := 0
	for _, m := range byType {
		got += len(m)
	}
	if got != total {
		t.Errorf("%d resources, want %d: evcli exports nothing it does not create", got, total)
	}
	if n := byType["google_pubsub_topic"]["bus"].attrs["name"]; n != gcp.TopicID("shop", p.Bus) {
		t.Errorf("topic %q, want %q", n, gcp.TopicID("shop", p.Bus))
	}
	for _, fn := range p.Functions {
		id := strings.ReplaceAll(strings.ToLower(fn.Name), "-", "_")
		r, ok := byType["google_cloudfunctions2_function"][id]
		if !ok {
			t.Errorf("%s: no google_cloudfunctions2_function.%s", fn.Name, id)
			continue
		}
		if r.attrs["name"] != gcp.FunctionID("shop", fn.Name) {
			t.Errorf("%s: name %q", fn.Name, r.attrs["name"])
		}
		if _, err := os.Stat(filepath.Join(out, "artifacts", fn.Name+".zip")); err != nil {
			t.Errorf("%s: zip: %v", fn.Name, err)
		}
		for i, ev := range fn.Events {
			sid, rule := fmt.Sprintf("%s_%d", id, i), fmt.Sprintf("%s-%d", fn.Name, i)
			s, ok := byType["google_pubsub_subscription"][sid]
			if !ok {
				t.Errorf("%s events[%d]: no subscription %s", fn.Name, i, sid)
				continue
			}
			if s.attrs["name"] != gcp.SubscriptionID("shop", fn.Name, rule) {
				t.Errorf("%s events[%d]: subscription name %q", fn.Name, i, s.attrs["name"])
			}
			tr, err := gcp.Translate(ev.Pattern)
			if err != nil {
				t.Fatal(err)
			}
			if s.attrs["filter"] != tr.Filter {
				t.Errorf("%s events[%d]: filter %q, want %q", fn.Name, i, s.attrs["filter"], tr.Filter)
			}
			if push := blockAttrSource(b, s.body, "push_config", "push_endpoint"); push != "google_cloudfunctions2_function."+id+".service_config[0].uri" {
				t.Errorf("%s events[%d]: push_endpoint %q", fn.Name, i, push)
			}
		}
	}
}

// blockAttrSource is the source of attribute name of the nested block typ.
func blockAttrSource(src []byte, b *hclsyntax.Body, typ, name string) string {
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			if a, ok := blk.Body.Attributes[name]; ok {
				return string(a.Expr.Range().SliceBytes(src))
			}
		}
	}
	return ""
}

func TestExportGCPCheckNamesTheChangedField(t *testing.T) {
	dir := gcpExportDir(t, "fan-out")
	e := gcpExportEnv(t, dir)
	out := filepath.Join(dir, "infra", "terraform")
	if code := e.run("export", "--format", "terraform", "--dir", out); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	committed := filepath.Join(out, "main.tf")
	if code := e.run("export", "--check", committed); code != 0 {
		t.Fatalf("--check of a fresh export: exit %d\n%s%s", code, e.out, e.errOut)
	}
	yaml, _ := os.ReadFile(filepath.Join(dir, "evcli.yaml"))
	os.WriteFile(filepath.Join(dir, "evcli.yaml"), []byte(strings.Replace(string(yaml), "memory: 128", "memory: 512", 1)), 0o644) // inventory is first
	if code := e.run("export", "--check", committed); code != 2 {
		t.Fatalf("--check after a memory change: exit %d, want 2\n%s%s", code, e.out, e.errOut)
	}
	const field = `~ resource.google_cloudfunctions2_function.inventory.service_config[0].available_memory: "128Mi" -> "512Mi"`
	if !strings.Contains(e.out.String(), field+"\n") {
		t.Errorf("stdout does not name the field %q:\n%s", field, e.out)
	}
}

func TestExportGCPRefusesAWSFormats(t *testing.T) {
	dir := gcpExportDir(t, "fan-out")
	e := gcpExportEnv(t, dir)
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
