package aws

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/evcli/evcli/providers"
)

// exportOne exports fds (each given a one-byte zip) with o in format.
func exportOne(t *testing.T, o DeployerOptions, format string, fds ...providers.FunctionDeployment) *providers.Export {
	t.Helper()
	dir := t.TempDir()
	for i := range fds {
		fds[i].ArtifactPath = filepath.Join(dir, fds[i].Name+".zip")
		os.WriteFile(fds[i].ArtifactPath, []byte(fds[i].Name), 0o644)
	}
	ex, err := NewExporter("eu-west-1", o).Export(context.Background(), fds, format)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func TestExportDefaultBusAndGivenRole(t *testing.T) {
	fd := providers.FunctionDeployment{Name: "a-b", Runtime: "nodejs22.x", Handler: "index.handler", MemoryMB: 128, TimeoutS: 3,
		Role:  "arn:aws:iam::123456789012:role/mine",
		Rules: []providers.RuleSpec{{ID: "a-b-0", Pattern: []byte(`{"source":["x"]}`)}, {ID: "a-b-1", Bus: "other", Pattern: []byte(`{"source":["y"]}`)}}}
	clash := providers.FunctionDeployment{Name: "a-b-", Runtime: "nodejs22.x", Handler: "index.handler", Role: fd.Role}
	o := DeployerOptions{Project: "shop"}
	tpl, err := ParseCFN(exportOne(t, o, providers.FormatCloudFormation, fd, clash).Files[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range tpl.Resources {
		if r.Type == cfnTypeBus || r.Type == cfnTypeRole || r.Type == cfnTypeTable {
			t.Errorf("%s: %s made, want none (default bus, role given, no table)", id, r.Type)
		}
	}
	fn := tpl.Resources["ABFunction"].Properties.(*CFNFunction)
	if fn.Role != cfnLit(fd.Role) || fn.FunctionName != "shop-a-b" {
		t.Errorf("function %+v", fn)
	}
	if _, ok := tpl.Resources["ABAlias"]; !ok {
		t.Error("no alias for a-b")
	}
	var other *CFNFunction
	for id, r := range tpl.Resources {
		if strings.HasPrefix(id, "AB") && strings.HasSuffix(id, "Function") && id != "ABFunction" {
			other = r.Properties.(*CFNFunction)
		}
	}
	if other == nil || other.FunctionName != "shop-a-b-" {
		t.Errorf("a-b and a-b- share the logical id AB: the second must get its own (%v)", other)
	}
	r0, r1 := tpl.Resources["ABRule0"].Properties.(*CFNRule), tpl.Resources["ABRule1"].Properties.(*CFNRule)
	if !r0.EventBusName.IsZero() || r1.EventBusName != cfnLit("other") {
		t.Errorf("buses %v / %v: the default bus is left out, another bus named", r0.EventBusName, r1.EventBusName)
	}

	tf := exportOne(t, o, providers.FormatTerraform, fd, clash).Files[0].Data
	if _, diags := hclparse.NewParser().ParseHCL(tf, "main.tf"); diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, bad := range []string{"aws_iam_role", "aws_cloudwatch_event_bus", "aws_dynamodb_table"} {
		if strings.Contains(string(tf), `resource "`+bad+`"`) {
			t.Errorf("terraform has a %s", bad)
		}
	}
	if !regexp.MustCompile(`\n  role +="arn:aws:iam::123456789012:role/mine"`).Match(bytes.ReplaceAll(tf, []byte("= "), []byte("="))) {
		t.Errorf("the given role is not the function's:\n%s", tf)
	}
}

func TestExportRefusesUnknownFormat(t *testing.T) {
	_, err := NewExporter("eu-west-1", DeployerOptions{Project: "shop"}).Export(context.Background(), nil, "pulumi")
	if providers.CodeOf(err) != providers.Unsupported || !strings.Contains(err.Error(), "cloudformation, sam, terraform") {
		t.Errorf("err = %v", err)
	}
	_, err = NewExporter("", DeployerOptions{Project: "shop"}).Export(context.Background(), nil, providers.FormatSAM)
	if providers.CodeOf(err) != providers.Unconfigured {
		t.Errorf("no region: err = %v", err)
	}
}
