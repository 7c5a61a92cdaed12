package export

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/evcli/evcli/providers"
)

func differences(t *testing.T, format, have, want string) []string {
	t.Helper()
	ex := &providers.Export{Format: format, Files: []providers.ExportFile{{Path: "t", Data: []byte(want), Template: true}}}
	diffs, err := Check(ex, "committed", []byte(have))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range diffs {
		out = append(out, d.String())
	}
	return out
}

func TestExportCheckYAMLNamesEachDifferenceByPath(t *testing.T) {
	have := `Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      MemorySize: 128
      Role: !GetAtt FnRole.Arn
      Architectures: [x86_64]
  Gone:
    Type: AWS::Logs::LogGroup
`
	want := `Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      MemorySize: 256
      Role: !GetAtt OtherRole.Arn
      Architectures: [x86_64, arm64]
  New:
    Type: AWS::Events::EventBus
`
	got := differences(t, providers.FormatCloudFormation, have, want)
	wantDiffs := []string{
		"~ Resources.Fn.Properties.MemorySize: 128 -> 256",
		"~ Resources.Fn.Properties.Role: !GetAtt FnRole.Arn -> !GetAtt OtherRole.Arn",
		"+ Resources.Fn.Properties.Architectures[1]: arm64 (missing from the template)",
		"+ Resources.New: {Type: 'AWS::Events::EventBus'} (missing from the template)",
		"- Resources.Gone: {Type: 'AWS::Logs::LogGroup'} (not in evcli.yaml)",
	}
	if !slices.Equal(got, wantDiffs) {
		t.Errorf("got\n%q\nwant\n%q", got, wantDiffs)
	}
	if got := differences(t, providers.FormatSAM, have, have); len(got) != 0 {
		t.Errorf("same template: %v", got)
	}
	// A string "128" is not the number 128.
	if got := differences(t, providers.FormatCloudFormation, "A: 128\n", "A: \"128\"\n"); len(got) != 1 {
		t.Errorf("tags ignored: %v", got)
	}
}

func TestExportCheckHCLComparesAttributesNotLayout(t *testing.T) {
	have := `resource "aws_lambda_function" "inv" {
  memory_size = 128
  role = aws_iam_role.inv.arn
  environment {
    variables = { A = "1" }
  }
}
resource "aws_dynamodb_table" "t" {
  attribute {
    name = "pk"
  }
  attribute {
    name = "sk"
  }
}
`
	want := `resource "aws_lambda_function" "inv" {
  memory_size    = 256
  role           = aws_iam_role.inv.arn
  environment {
    variables = {
      A = "2"
    }
  }
}
resource "aws_dynamodb_table" "t" {
  attribute {
    name = "pk"
  }
}
`
	got := differences(t, providers.FormatTerraform, have, want)
	wantDiffs := []string{
		"~ resource.aws_lambda_function.inv.memory_size: 128 -> 256",
		`~ resource.aws_lambda_function.inv.environment[0].variables: { A = "1" } -> { A = "2" }`,
		`- resource.aws_dynamodb_table.t.attribute[1].name: "sk" (not in evcli.yaml)`,
	}
	if !slices.Equal(got, wantDiffs) {
		t.Errorf("got\n%q\nwant\n%q", got, wantDiffs)
	}
	if got := differences(t, providers.FormatTerraform, want, want); len(got) != 0 {
		t.Errorf("same configuration: %v", got)
	}
	if _, err := Check(&providers.Export{Format: providers.FormatTerraform, Files: []providers.ExportFile{{Template: true}}}, "bad.tf", []byte("resource {")); err == nil {
		t.Error("a configuration that does not parse is not an error")
	}
}

func TestExportFormatOf(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"main.tf", "", providers.FormatTerraform},
		{"template.yaml", "Transform: AWS::Serverless-2016-10-31\n", providers.FormatSAM},
		{"template.yaml", "AWSTemplateFormatVersion: '2010-09-09'\n", providers.FormatCloudFormation},
	} {
		if got := FormatOf(c.name, []byte(c.body)); got != c.want {
			t.Errorf("FormatOf(%s) = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestExportWriteRemovesZipsTheTemplateNoLongerNames(t *testing.T) {
	dir := t.TempDir()
	ex := func(files ...providers.ExportFile) *providers.Export {
		return &providers.Export{Files: append([]providers.ExportFile{{Path: "template.yaml", Data: []byte("t"), Template: true}}, files...)}
	}
	if _, err := Write(dir, ex(providers.ExportFile{Path: "evcli/shop/a/h1.zip", Data: []byte("1")}, providers.ExportFile{Path: "artifacts/b.zip", Data: []byte("b")})); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "artifacts", "notes.txt"), []byte("mine"), 0o644)
	// a's code changed; b is gone.
	if _, err := Write(dir, ex(providers.ExportFile{Path: "evcli/shop/a/h2.zip", Data: []byte("2")}, providers.ExportFile{Path: "artifacts/c.zip", Data: []byte("c")})); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"evcli/shop/a/h1.zip": false, "evcli/shop/a/h2.zip": true, "artifacts/b.zip": false,
		"artifacts/c.zip": true, "artifacts/notes.txt": true, "template.yaml": true} {
		if _, err := os.Stat(filepath.Join(dir, path)); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", path, err == nil, want)
		}
	}
}
