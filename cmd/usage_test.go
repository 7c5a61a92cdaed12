package cmd

import (
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
)

// TestUsageErrorsExitTwo holds the exit-code table (evcli help exit-codes:
// 2 is usage or invalid input) for every command's usage errors: unknown
// subcommands and flags, misspelt function names, wrong paths, bad flag
// values. Each exits 2 and says what would be right.
func TestUsageErrorsExitTwo(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "evcli.yaml")
	os.WriteFile(file, []byte(`project: shop
functions:
  payment:
    source: functions/payment
    runtime: nodejs20.x
    handler: index.handler
    events:
      - pattern: {source: [shop]}
`), 0o644)
	os.MkdirAll(filepath.Join(dir, "functions", "payment"), 0o755)
	os.WriteFile(filepath.Join(dir, "functions", "payment", "index.js"), []byte("exports.handler = async () => 1;\n"), 0o644)
	eventsDir := filepath.Join(dir, "functions")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"filter", "tset"}, `unknown command "tset" for "evcli filter": did you mean "test"?`},
		{[]string{"tune", "mem"}, `did you mean "memory"?`},
		{[]string{"local", "invoke"}, `did you mean "evcli invoke"?`},
		{[]string{"help", "nosuch"}, `unknown command "nosuch" for "evcli"`},
		{[]string{"help", "filter", "tset"}, `did you mean "test"?`},
		{[]string{"logs"}, "tail"},
		{[]string{"build"}, "package"},
		{[]string{"deploy", "--function", "paymnet"}, `did you mean "payment"?`},
		{[]string{"invoke", "paymnet"}, `did you mean "payment"?`},
		{[]string{"send", eventsDir}, eventsDir + " is a directory"},
		{[]string{"send", filepath.Join(dir, "nosuch.json")}, "no such file"},
		{[]string{"deploy", "--provider", "nosuch"}, "1 problem in --provider"},
		{[]string{"deploy", "--concurrency", "0"}, "--concurrency must be at least 1"},
		{[]string{"tail", "--since", "abc"}, `invalid --since "abc"`},
		{[]string{"replay", "--since", "abc"}, `invalid --since "abc"`},
		{[]string{"tune", "memory", "--strategy", "x"}, "use cost, speed or balanced"},
		{[]string{"deploy", "-o", "yaml"}, `invalid value "yaml" for -o/--output`},
		{[]string{"deploy", "--color", "sometimes"}, `invalid value "sometimes" for --color`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			f, out, errOut := scaffoldFactory(file)
			code := Run(context.Background(), f, tc.args)
			got := errOut.String() + out.String()
			if code != cmdutil.ExitUsage || !strings.Contains(got, tc.want) {
				t.Errorf("exit %d, want 2, with %q in:\n%s", code, tc.want, got)
			}
			if strings.Contains(got, "problem in evcli.yaml") {
				t.Errorf("a usage error summarised as a problem in evcli.yaml:\n%s", got)
			}
		})
	}

	// Every command, and every group, refuses an unknown flag with exit 2.
	f, _, _ := scaffoldFactory(file)
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			p := append(append([]string(nil), path...), sub.Name())
			paths = append(paths, p)
			walk(sub, p)
		}
	}
	walk(NewCmdRoot(f), nil)
	if len(paths) < 15 {
		t.Fatalf("found only %d commands: %v", len(paths), paths)
	}
	for _, p := range paths {
		f, _, errOut := scaffoldFactory(file)
		if code := Run(context.Background(), f, append(p, "--no-such-flag")); code != cmdutil.ExitUsage {
			t.Errorf("evcli %s --no-such-flag: exit %d, want 2\n%s", strings.Join(p, " "), code, errOut)
		}
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.7", Main: debug.Module{Path: "github.com/evcli/evcli", Version: "v0.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-07T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionOf(bi).String(), "v0.4.0 (commit 0123456789ab 2026-12-07T10:00:00Z, modified; go1.26.7)"; got != want {
		t.Errorf("version = %q, want %q", got, want)
	}
	bi.Main.Version, bi.Settings = "(devel)", nil
	if got := versionOf(bi).String(); got != "dev (go1.26.7)" {
		t.Errorf("a build outside a clone = %q", got)
	}
}

func TestReplaySampleTruncated(t *testing.T) {
	long := `{"detail":"` + strings.Repeat("é", 100000) + `"}`
	got := truncateSample(long, sampleWidth)
	if len(got) > sampleWidth+100 || !strings.Contains(got, "KB more; -o json prints the whole event") || !utf8.ValidString(got) {
		t.Errorf("truncated sample: %d bytes, %q…", len(got), got[len(got)-80:])
	}
	if short := `{"a":1}`; truncateSample(short, sampleWidth) != short {
		t.Error("a short sample was changed")
	}
}

func TestCompletionKnowsFunctionsAndEnums(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "evcli.yaml")
	os.WriteFile(file, []byte("project: shop\nfunctions:\n  payment:\n    source: p\n    runtime: nodejs20.x\n    handler: index.handler\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "p"), 0o755)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"deploy", "--function", ""}, []string{"payment"}},
		{[]string{"invoke", ""}, []string{"payment"}},
		{[]string{"tail", ""}, []string{"payment"}},
		{[]string{"filter", "test", "--rule", ""}, []string{"payment"}},
		{[]string{"tune", "memory", "--strategy", ""}, []string{"cost", "speed", "balanced"}},
		{[]string{"deploy", "-o", ""}, []string{"text", "json"}},
		{[]string{"send", "--provider", ""}, []string{"local", "aws", "gcp", "azure"}},
		{[]string{"tail", "--color", ""}, []string{"auto", "always", "never"}},
	} {
		f, out, errOut := scaffoldFactory(file)
		if code := Run(context.Background(), f, append([]string{"__complete"}, tc.args...)); code != 0 {
			t.Errorf("complete %v: exit %d: %s", tc.args, code, errOut)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w+"\n") {
				t.Errorf("complete %v = %q, want %s", tc.args, out, w)
			}
		}
	}
}
