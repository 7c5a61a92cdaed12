package cmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/project"
)

func newCmdValidate(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check evcli.yaml",
		Long: `Check the project file (evcli.yaml, or the one -f names) without deploying anything:
its YAML, every key, type, range and name, that function sources exist, that each event
pattern is a JSON object, and the --provider/--region flags and EVCLI_* variables that
override it. Every problem is reported at once, with file:line:col, the field path, what
is wrong and what would be right.

The schema is documented in project/SCHEMA.md.

Exit status: 0 when the file is valid, 2 when it is not.`,
		Example: `  evcli validate
  evcli validate -f staging/evcli.yaml
  EVCLI_PROVIDER=aws evcli validate
  evcli validate -o json | jq -r 'select(.type == "diagnostic") | .message'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runValidate(f)
		},
	}
}

// diagnosticLine is one problem in -o json output.
type diagnosticLine struct {
	Type    string `json:"type"` // "diagnostic"
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Path    string `json:"path"`
	Message string `json:"message"`
	Hint    string `json:"hint"`
}

// validateSummary is the last line of -o json output.
type validateSummary struct {
	Type      string `json:"type"` // "summary"
	File      string `json:"file"`
	Valid     bool   `json:"valid"`
	Problems  int    `json:"problems"`
	Functions int    `json:"functions"`
	Rules     int    `json:"rules"`
}

func runValidate(f *cmdutil.Factory) error {
	p, err := f.Project()
	var ds *project.Diagnostics
	if err != nil && !errors.As(err, &ds) {
		return err
	}
	file := f.ProjectFile()
	if f.Globals.JSON() {
		w := cmdutil.NewJSONLines(f.IO.Out, "validate")
		if ds != nil {
			for _, d := range ds.List {
				if err := w.Write(diagnosticLine{Type: "diagnostic", File: d.File, Line: d.Line, Col: d.Col,
					Path: d.Path, Message: d.Msg, Hint: d.Hint}); err != nil {
					return err
				}
			}
			if err := w.Write(validateSummary{Type: "summary", File: file, Problems: len(ds.List) + ds.More}); err != nil {
				return err
			}
			return cmdutil.Silent(cmdutil.ExitUsage)
		}
		return w.Write(validateSummary{Type: "summary", File: file, Valid: true,
			Functions: len(p.Functions), Rules: countRules(p)})
	}
	if ds != nil {
		return ds // printed on stderr by the root, exit 2
	}
	ok := "ok"
	if f.IO.ColorEnabled() {
		ok = "\x1b[32mok\x1b[0m"
	}
	_, err = fmt.Fprintf(f.IO.Out, "%s: %s (%s, %s)\n", file, ok,
		plural(len(p.Functions), "function"), plural(countRules(p), "rule"))
	return err
}

func countRules(p *project.Project) int {
	n := 0
	for _, fn := range p.Functions {
		n += len(fn.Events)
	}
	return n
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
