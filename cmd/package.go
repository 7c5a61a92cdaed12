package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/project"
)

type packageOptions struct {
	IO      *cmdutil.IOStreams
	JSON    bool
	Project func() (*project.Project, error)
	Getwd   func() (string, error)

	Functions   []string
	Concurrency int
}

func newCmdPackage(f *cmdutil.Factory) *cobra.Command { return newCmdPackageWith(f, nil) }

func newCmdPackageWith(f *cmdutil.Factory, runF func(context.Context, *packageOptions) error) *cobra.Command {
	opts := &packageOptions{IO: f.IO, Project: f.Project, Getwd: os.Getwd}
	c := &cobra.Command{
		Use:   "package",
		Short: "Build and zip every function",
		Long: `Build each function of evcli.yaml into .evcli/build/<function>.zip, in parallel.

Go functions (provided.al2023) are compiled for Linux into an executable named bootstrap;
Node.js and Python functions zip their source directory, node_modules and vendored packages
included, minus what the directory's .evcliignore (gitignore syntax) excludes. The zips are
deterministic: the same sources give the same bytes and the same SHA-256, printed in hex
and (with -o json) in Lambda's base64 CodeSha256 form. "changed" compares with the
previous build.

Output: a table on a terminal; otherwise one line per function, tab-separated:
function, zip path, size in bytes, sha256, changed|unchanged. With -o json, one
{"type":"artifact",...} object per function. Progress goes to stderr.`,
		Example: `  evcli package
  evcli package --function inventory --function payment
  evcli package -o json | jq -r 'select(.type=="artifact") | .codeSha256'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			opts.JSON = f.Globals.JSON()
			if opts.Concurrency < 0 {
				return &flagError{err: fmt.Errorf("--concurrency %d: use a positive number, or 0 for one build per CPU", opts.Concurrency), usage: c.CommandPath()}
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runPackage(c.Context(), opts)
		},
	}
	c.Flags().StringSliceVar(&opts.Functions, "function", nil, "package only this function (repeatable, or comma-separated)")
	c.Flags().IntVarP(&opts.Concurrency, "concurrency", "j", 0, "functions built at once (default: one per CPU)")
	_ = c.RegisterFlagCompletionFunc("function", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		p, err := f.Project()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, fn := range p.Functions {
			names = append(names, fn.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

func runPackage(ctx context.Context, opts *packageOptions) error {
	p, err := opts.Project()
	if err != nil {
		return err
	}
	if len(p.Functions) == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "%s defines no functions: nothing to package\n", p.Path)
		return nil
	}
	errOut := opts.IO.ErrOut
	tty := opts.IO.IsStderrTTY()
	arts, err := deploy.Package(ctx, p, deploy.PackageOptions{
		Functions:   opts.Functions,
		Concurrency: opts.Concurrency,
		Progress: func(ev deploy.ArtifactEvent) {
			switch ev.Phase {
			case deploy.PhaseBuilding:
				fmt.Fprintf(errOut, "building %s\n", ev.Function)
			case deploy.PhaseFailed:
				if tty {
					fmt.Fprintf(errOut, "✗ %s failed\n", ev.Function)
				} else {
					fmt.Fprintf(errOut, "failed %s\n", ev.Function)
				}
			case deploy.PhaseDone:
				if tty {
					fmt.Fprintf(errOut, "✓ %s\n", ev.Function)
				} else {
					fmt.Fprintf(errOut, "packaged %s\n", ev.Function)
				}
			}
		},
	})
	var ue *deploy.UnknownFunctionError
	if errors.As(err, &ue) {
		return cmdutil.UsageError("--function: %v", err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if werr := writeArtifacts(opts, arts); werr != nil {
		return werr
	}
	changed := 0
	for _, a := range arts {
		if a.Changed {
			changed++
		}
	}
	fmt.Fprintf(errOut, "packaged %d of %d function(s), %d changed, in %s\n", len(arts), countSelected(p, opts.Functions), changed, filepath.Join(p.Dir, deploy.BuildDir))
	if err != nil {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Msg: packageFailure(err)}
	}
	return nil
}

func countSelected(p *project.Project, names []string) int {
	if len(names) == 0 {
		return len(p.Functions)
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	return len(seen)
}

// packageFailure words the joined build errors for stderr.
func packageFailure(err error) string {
	msg := strings.TrimRight(err.Error(), "\n")
	n := 1
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		n = len(j.Unwrap())
	}
	if n == 1 {
		return "package: " + msg
	}
	return fmt.Sprintf("package: %d functions failed:\n%s", n, msg)
}

func writeArtifacts(opts *packageOptions, arts []deploy.Artifact) error {
	out := opts.IO.Out
	if opts.JSON {
		j := cmdutil.NewJSONLines(out, "package")
		for _, a := range arts {
			if err := j.Write(artifactJSON{Type: "artifact", Function: a.Function, Path: a.Path, Size: a.Size,
				SHA256: a.SHA256, CodeSha256: a.CodeSha256, Changed: a.Changed}); err != nil {
				return err
			}
		}
		return nil
	}
	wd := ""
	if opts.Getwd != nil {
		wd, _ = opts.Getwd()
	}
	if !opts.IO.IsStdoutTTY() {
		for _, a := range arts {
			fmt.Fprintf(out, "%s\t%s\t%d\t%s\t%s\n", a.Function, displayPath(wd, a.Path), a.Size, a.SHA256, changedWord(a.Changed))
		}
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tSIZE\tSHA256\tZIP\tCHANGED")
	for _, a := range arts {
		changed := "no"
		if a.Changed {
			changed = "yes"
			if opts.IO.ColorEnabled() {
				changed = "\x1b[33myes\x1b[0m" // last column: the escape bytes cannot misalign others
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Function, humanSize(a.Size), a.SHA256[:12], displayPath(wd, a.Path), changed)
	}
	return tw.Flush()
}

type artifactJSON struct {
	Type       string `json:"type"`
	Function   string `json:"function"`
	Path       string `json:"path"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
	CodeSha256 string `json:"codeSha256"`
	Changed    bool   `json:"changed"`
}

func changedWord(c bool) string {
	if c {
		return "changed"
	}
	return "unchanged"
}

// displayPath shows p relative to the working directory when it is below it.
func displayPath(wd, p string) string {
	if wd == "" {
		return p
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return rel
}

// humanSize formats bytes in SI units, as ls -h --si and Lambda's console do.
func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, suffixes := float64(n), []string{"kB", "MB", "GB"}
	i := -1
	for f >= unit && i < len(suffixes)-1 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", f, suffixes[i])
}
