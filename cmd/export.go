package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/export"
	"github.com/evcli/evcli/providers"
)

type exportOptions struct {
	Format string
	Dir    string
	Check  string
	// LogRetentionDays is deploy's --log-retention (0: the default).
	LogRetentionDays int
}

func newCmdExport(f *cmdutil.Factory) *cobra.Command {
	var o exportOptions
	c := &cobra.Command{
		Use:   "export",
		Short: "Write the project as CloudFormation, SAM or Terraform",
		Long: `Write what evcli deploy would create as a template for a pipeline that deploys:
the same physical names, tags, roles and least-privilege policies, log groups with their
retention, function settings, the bus, rules with their patterns targeting the "live"
alias, the permissions, and the event-store table with TTL and the writer that fills it.

The functions are packaged first (the same deterministic zips as deploy) and the zips are
written next to the template: for CloudFormation under evcli/<project>/<function>/<hash>.zip,
the S3 key the template's Code points at (upload with aws s3 sync); for SAM under
artifacts/, the CodeUri that sam deploy uploads; for Terraform under artifacts/, with
filename and source_code_hash. Secret values are never written: each secret becomes a
NoEcho parameter (CloudFormation, SAM) or a sensitive variable (Terraform).

No credentials are needed: the account and partition are the template's own
placeholders. The region is, as role names carry it. Log groups keep logs 14 days, or
--log-retention days: give the value deploy is given.

--check FILE exports to memory and compares with a committed template: it prints each
difference by its path and exits 2 when there is one, so CI notices when evcli.yaml and
the template drift apart. The format is taken from --format, else from FILE.

The template is written for the project's provider (--provider or evcli.yaml): aws writes
all three formats; gcp writes Terraform for the google provider (it needs the Google Cloud
project and region, no credentials); azure has no export in this build yet.`,
		Example: `  evcli export --provider aws --format cloudformation --dir infra/cfn
  evcli export --provider aws --format terraform --dir infra/tf
  evcli export --provider aws --check infra/cfn/template.yaml
  evcli export --provider gcp --project my-project --region europe-west1 --format terraform --dir infra/gcp`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if o.Format == "" && o.Check == "" {
				return cmdutil.UsageError("export needs --format %s (or --check FILE)", strings.Join(providers.ExportFormats, "|"))
			}
			if o.Format != "" && !slices.Contains(providers.ExportFormats, o.Format) {
				hint := ""
				if s := suggest(o.Format, providers.ExportFormats); s != "" {
					hint = fmt.Sprintf(" (did you mean %s?)", s)
				}
				return cmdutil.UsageError("--format %q%s: use %s", o.Format, hint, strings.Join(providers.ExportFormats, ", "))
			}
			if c.Flags().Changed("log-retention") && !slices.Contains(logRetentionDays, o.LogRetentionDays) {
				return cmdutil.UsageError("--log-retention %d: CloudWatch Logs keeps logs for one of %s days", o.LogRetentionDays, joinInts(logRetentionDays))
			}
			if o.Check != "" && c.Flags().Changed("dir") {
				return cmdutil.UsageError("--check compares and writes nothing: it cannot be combined with --dir")
			}
			return runExport(c.Context(), f, o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Format, "format", "", "cloudformation, sam or terraform")
	fl.StringVar(&o.Dir, "dir", "", "directory to write the template and zips to (default: infra/<format> in the project directory)")
	fl.IntVar(&o.LogRetentionDays, "log-retention", 0, "days the log groups keep logs, as deploy --log-retention (default 14)")
	fl.StringVar(&o.Check, "check", "", "compare with this committed template instead of writing; exit 2 on a difference")
	_ = c.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return providers.ExportFormats, cobra.ShellCompDirectiveNoFileComp
	})
	return c
}

func runExport(ctx context.Context, f *cmdutil.Factory, o exportOptions) (err error) {
	var committed []byte
	if o.Check != "" {
		if committed, err = os.ReadFile(o.Check); err != nil {
			return cmdutil.UsageError("--check: %v", err)
		}
		if got := export.FormatOf(o.Check, committed); o.Format == "" {
			o.Format = got
		}
	}
	p, err := f.Project()
	if err != nil {
		return err
	}
	prov, err := openProvider(ctx, f, p, []providers.Ability{providers.AbilityExport}, func(oo *providers.OpenOptions) {
		oo.Offline, oo.LogRetentionDays = true, o.LogRetentionDays
	})
	if err != nil {
		return err
	}
	defer closeProvider(ctx, waiterOf(f), prov, &err)
	ex, err := export.Run(ctx, prov.Exporter, export.Options{Project: p, Format: o.Format, Now: f.Now,
		OnPackage: func(ev deploy.ArtifactEvent) {
			if ev.Phase == deploy.PhaseFailed {
				fmt.Fprintf(f.IO.ErrOut, "failed %s\n", ev.Function)
			}
		}})
	if err != nil {
		return err
	}
	var jl *cmdutil.JSONLines
	if f.Globals.JSON() {
		jl = cmdutil.NewJSONLines(f.IO.Out, "export")
	}
	if o.Check != "" {
		return reportCheck(f, jl, o, ex, committed)
	}
	dir := o.Dir
	if dir == "" {
		dir = filepath.Join(p.Dir, "infra", o.Format)
	}
	paths, err := export.Write(dir, ex)
	if err != nil {
		return err
	}
	wd, _ := os.Getwd()
	for i, path := range paths {
		if jl != nil {
			if err := jl.Write(map[string]any{"type": "file", "path": path, "bytes": len(ex.Files[i].Data), "template": ex.Files[i].Template}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(f.IO.Out, displayPath(wd, path))
	}
	if jl == nil {
		shown := displayPath(wd, dir)
		fmt.Fprintf(f.IO.ErrOut, "Wrote %s and %d zip(s) to %s. To deploy it:\n", ex.Format, len(paths)-1, shown)
		for _, n := range ex.Next {
			fmt.Fprintf(f.IO.ErrOut, "  %s\n", strings.ReplaceAll(n, "DIR", shown))
		}
	}
	return nil
}

// reportCheck prints the differences between the committed template and
// the export: exit 0 when there are none, 2 otherwise.
func reportCheck(f *cmdutil.Factory, jl *cmdutil.JSONLines, o exportOptions, ex *providers.Export, committed []byte) error {
	diffs, err := export.Check(ex, o.Check, committed)
	if err != nil {
		return cmdutil.UsageError("--check: %v", err)
	}
	for _, d := range diffs {
		if jl != nil {
			if err := jl.Write(map[string]any{"type": "difference", "path": d.Path, "have": d.Have, "want": d.Want}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(f.IO.Out, d)
	}
	if len(diffs) == 0 {
		if jl == nil {
			fmt.Fprintf(f.IO.ErrOut, "%s matches evcli.yaml\n", o.Check)
		}
		return nil
	}
	return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Msg: fmt.Sprintf(
		"%s no longer matches evcli.yaml: %d difference(s)\n  update it with: evcli export --format %s --dir %s", o.Check, len(diffs), ex.Format, filepath.Dir(o.Check))}
}
