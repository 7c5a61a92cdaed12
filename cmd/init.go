package cmd

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/templates"
)

type initOptions struct {
	IO   *cmdutil.IOStreams
	JSON bool

	Dir      string // the NAME argument: a directory, whose base name is the project name
	Template string
	Lang     string
	// Handlers is what the handlers are written for (templates.Providers),
	// from --provider: Lambda handlers unless it names gcp or azure.
	Handlers string
}

func newCmdInit(f *cmdutil.Factory) *cobra.Command { return newCmdInitWith(f, nil) }

func newCmdInitWith(f *cmdutil.Factory, runF func(*initOptions) error) *cobra.Command {
	opts := &initOptions{IO: f.IO}
	var long strings.Builder
	long.WriteString("Create the directory NAME with a runnable project: evcli.yaml, one handler per\n" +
		"function, sample events under events/ and a README. NAME may be a path; its last\n" +
		"element is the project name (lower-case letters, digits and '-'); \".\" is the current\n" +
		"directory. evcli init never writes into a directory that is not empty.\n\nTemplates:\n")
	for _, n := range templates.Names {
		fmt.Fprintf(&long, "  %-15s %s\n", n, templates.Summaries[n])
	}
	long.WriteString("\nLanguages: go (provided.al2023), node (nodejs20.x), python (python3.12).\n\n" +
		"--provider gcp writes Cloud Functions (CloudEvent functions of the Functions Framework),\n" +
		"--provider azure Azure Functions with an Event Grid trigger (Node.js v4 and Python v2\n" +
		"programming models, a custom handler for Go); otherwise the handlers are Lambda handlers.\n" +
		"evcli.yaml records it (handlers:) and keeps provider: local, which runs every kind\n" +
		"(gcp: fan-out and saga; azure: fan-out; so far).")
	c := &cobra.Command{
		Use:   "init NAME",
		Short: "Scaffold a project from a template",
		Long:  long.String(),
		Example: `  evcli init shop
  evcli init shop --template saga --lang node
  evcli init projects/ledger --template event-sourcing --lang python -o json
  evcli init shop --provider gcp --lang node`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Dir = args[0]
			opts.JSON = f.Globals.JSON()
			if err := templates.Check(opts.Template, opts.Lang); err != nil {
				return &flagError{err: err, usage: c.CommandPath()}
			}
			h, err := templates.HandlersFor(opts.Template, opts.Lang, f.Globals.Provider)
			if err != nil {
				return &flagError{err: err, usage: c.CommandPath()}
			}
			opts.Handlers = h
			if err := templates.ValidateName(projectNameOf(opts.Dir)); err != nil {
				return &flagError{err: err, usage: c.CommandPath()}
			}
			if runF != nil {
				return runF(opts)
			}
			return runInit(opts)
		},
	}
	c.Flags().StringVarP(&opts.Template, "template", "t", "fan-out", "template: "+strings.Join(templates.Names, ", "))
	c.Flags().StringVarP(&opts.Lang, "lang", "l", "go", "handler language: "+strings.Join(templates.Langs, ", "))
	_ = c.RegisterFlagCompletionFunc("template", cobra.FixedCompletions(templates.Names, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("lang", cobra.FixedCompletions(templates.Langs, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func runInit(opts *initOptions) error {
	dir := filepath.Clean(opts.Dir)
	name := projectNameOf(dir)
	handlers := opts.Handlers
	if handlers == "" {
		handlers = templates.Providers[0]
	}
	files, err := templates.RenderFor(opts.Template, opts.Lang, handlers, name, dir)
	var ne *templates.NotEmptyError
	if errors.As(err, &ne) {
		return cmdutil.UsageError("%v", err)
	}
	if err != nil {
		return err
	}
	steps := nextSteps(dir, files)
	if opts.JSON {
		paths := make([]string, len(files))
		for i, f := range files {
			paths[i] = f.Path
		}
		return cmdutil.NewJSONLines(opts.IO.Out, "init").Write(map[string]any{
			"type": "project", "name": name, "dir": dir, "template": opts.Template, "lang": opts.Lang, "handlers": handlers,
			"files": paths, "nextSteps": steps,
		})
	}
	writeInitSummary(opts.IO.Out, opts, name, dir, files, steps)
	return nil
}

// projectNameOf is the project name for the directory NAME: its last
// element ("." and ".." are resolved, so "evcli init ." names the project
// after the current directory).
func projectNameOf(dir string) string {
	dir = filepath.Clean(dir)
	if base := filepath.Base(dir); base != "." && base != ".." {
		return base
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return filepath.Base(abs)
	}
	return dir
}

var langNames = map[string]string{"go": "Go", "node": "Node.js", "python": "Python"}

func writeInitSummary(w io.Writer, opts *initOptions, name, dir string, files []templates.File, steps []string) {
	shown := dir
	if !filepath.IsAbs(dir) && !strings.HasPrefix(dir, ".") {
		shown = "." + string(filepath.Separator) + dir
	}
	kind := langNames[opts.Lang]
	if opts.Handlers != "" && opts.Handlers != templates.Providers[0] {
		kind += " " + templates.Titles[opts.Handlers]
	}
	fmt.Fprintf(w, "Created %s in %s (%s template, %s handlers, %d files).\n", name, shown, opts.Template, kind, len(files))
	fmt.Fprintf(w, "\nNext steps:\n")
	for _, s := range steps {
		fmt.Fprintf(w, "  %s\n", s)
	}
	fmt.Fprintf(w, "\nSee %s for what the project does.\n", filepath.Join(dir, "README.md"))
}

// nextSteps are the commands that run the new project on the local provider.
func nextSteps(dir string, files []templates.File) []string {
	var steps []string
	if dir != "." {
		steps = append(steps, "cd "+shellQuote(dir))
	}
	npm, pip := templates.Dependencies(files)
	for _, d := range npm {
		steps = append(steps, fmt.Sprintf("(cd %s && npm install)", d))
	}
	if len(pip) > 0 {
		steps = append(steps, fmt.Sprintf("pip install -r %s/requirements.txt", pip[0]))
	}
	steps = append(steps, "evcli deploy")
	for _, e := range templates.Events(files) {
		steps = append(steps, fmt.Sprintf("evcli send %s --wait", e))
	}
	steps = append(steps, templates.WorkflowRuns(files)...)
	steps = append(steps, "evcli tail --since 10m")
	return steps
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
