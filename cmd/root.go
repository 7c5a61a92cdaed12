// Package cmd holds evcli's cobra commands: flags, config loading, wiring and
// the choice of output. It is thin: the work happens in the domain packages
// (project, deploy, tail, replay, filter, tune) and the providers.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

// Version is set at build time with -ldflags "-X github.com/evcli/evcli/cmd.Version=...".
var Version = "dev"

// Main runs evcli with the process's arguments and returns the exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := cmdutil.New()
	return Run(ctx, f, os.Args[1:])
}

// Run executes the command line args with f and returns the exit code.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	wireProviders(f)
	root := NewCmdRoot(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ctx.Err())) {
		fmt.Fprintln(f.IO.ErrOut, "interrupted")
		return cmdutil.ExitInterrupted
	}
	printError(f, err)
	return exitCode(err)
}

func exitCode(err error) int {
	var diags *project.Diagnostics
	if errors.As(err, &diags) {
		return cmdutil.ExitUsage
	}
	var fe *flagError
	if errors.As(err, &fe) {
		return cmdutil.ExitUsage
	}
	if strings.HasPrefix(err.Error(), "unknown command ") {
		return cmdutil.ExitUsage
	}
	var pe *providers.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case providers.Unauthenticated, providers.Unconfigured:
			return cmdutil.ExitCredentials // no credentials, region or project
		case providers.Unsupported:
			return cmdutil.ExitUsage // the provider lacks the ability: said at open
		}
	}
	return cmdutil.ExitCode(err)
}

func printError(f *cmdutil.Factory, err error) {
	var ee *cmdutil.ExitError
	if errors.As(err, &ee) && ee.Msg == "" && ee.Err == nil {
		return // the command already said why
	}
	var diags *project.Diagnostics
	if errors.As(err, &diags) {
		// The list speaks for itself, even when a command wrapped it.
		fmt.Fprint(f.IO.ErrOut, diags.Error())
		return
	}
	msg := err.Error()
	if len(msg) > 0 && msg[len(msg)-1] == '\n' {
		fmt.Fprint(f.IO.ErrOut, msg)
	} else {
		fmt.Fprintln(f.IO.ErrOut, "evcli: "+msg)
	}
	var fe *flagError
	if errors.As(err, &fe) && fe.usage != "" {
		fmt.Fprintf(f.IO.ErrOut, "run '%s --help' for usage\n", fe.usage)
	}
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Hint != "" {
		fmt.Fprintln(f.IO.ErrOut, "  "+pe.Hint)
	}
}

// flagError is a usage error from cobra's flag or argument parsing.
type flagError struct {
	err   error
	usage string
}

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	g := f.Globals
	root := &cobra.Command{
		Use:   "evcli",
		Short: "Deploy and operate event-driven serverless functions",
		Long: `evcli packages handlers and deploys them with their event rules to AWS, Google Cloud,
Azure or the built-in local provider; follows the logs of many functions grouped by
correlation ID; replays stored events; tests EventBridge event patterns; and tunes
Lambda memory from observed metrics.`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(c *cobra.Command, args []string) error {
			switch g.Output {
			case "text", "json":
			default:
				return &flagError{err: fmt.Errorf(`invalid value %q for -o/--output: use "text" or "json"`, g.Output), usage: c.CommandPath()}
			}
			switch g.Color {
			case "auto", "always", "never":
			default:
				return &flagError{err: fmt.Errorf(`invalid value %q for --color: use "auto", "always" or "never"`, g.Color), usage: c.CommandPath()}
			}
			f.IO.SetColorMode(g.Color)
			return nil
		},
	}
	root.SetVersionTemplate("evcli {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &flagError{err: err, usage: c.CommandPath()}
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&g.File, "file", "f", g.File, "project file")
	pf.StringVar(&g.Provider, "provider", "", "provider: local, aws, gcp or azure (default: from evcli.yaml, else local)")
	pf.StringVar(&g.Region, "region", "", "cloud region (default: from evcli.yaml, then the environment)")
	pf.StringVar(&g.Profile, "profile", "", "cloud credentials profile")
	pf.StringVar(&g.Project, "project", "", "Google Cloud project id (default: evcli.yaml's gcp.project, then GOOGLE_CLOUD_PROJECT)")
	pf.StringVar(&g.Subscription, "subscription", "", "Azure subscription id (default: evcli.yaml's azure.subscription, then AZURE_SUBSCRIPTION_ID)")
	pf.StringVar(&g.ResourceGroup, "resource-group", "", "Azure resource group (default: evcli.yaml's azure.resourceGroup, then AZURE_RESOURCE_GROUP)")
	pf.StringVarP(&g.Output, "output", "o", g.Output, "output format: text or json")
	pf.StringVar(&g.Color, "color", g.Color, "colour: auto, always or never (NO_COLOR is honoured)")
	pf.BoolVar(&g.Yes, "yes", false, "confirm without prompting (needed when not running interactively)")
	pf.BoolVar(&g.Debug, "debug", false, "print debug details to stderr (never secrets)")

	for _, c := range []*cobra.Command{
		newCmdInit(f),
		newCmdValidate(f),
		newCmdPackage(f),
		newCmdDeploy(f),
		newCmdExport(f),
		newCmdSend(f),
		newCmdInvoke(f),
		newCmdRollback(f),
		newCmdTail(f),
		newCmdReplay(f),
		newCmdFilter(f),
		newCmdTune(f),
		newCmdLocal(f),
		newCmdWorkflow(f),
		newCmdVersion(f),
		newCmdCompletion(f),
		newHelpTopic("environment", "Environment variables evcli reads", environmentHelp),
		newHelpTopic("exit-codes", "What evcli's exit codes mean", exitCodesHelp),
	} {
		root.AddCommand(c)
	}
	// Words users of other tools type: cobra's "unknown command" error
	// suggests the evcli command (evcli logs -> tail, evcli build -> package).
	suggestFor := map[string][]string{
		"tail":    {"logs", "log", "follow"},
		"package": {"build", "bundle", "zip"},
		"deploy":  {"up", "apply", "push"},
		"send":    {"put", "publish", "emit"},
		"invoke":  {"call", "run"},
	}
	for _, c := range root.Commands() {
		c.SuggestFor = append(c.SuggestFor, suggestFor[c.Name()]...)
	}
	root.SetHelpCommand(newCmdHelp())
	registerCompletions(f, root)
	wrapArgs(root)
	return root
}

// wrapArgs makes argument-count errors usage errors (exit 2) everywhere,
// and an unknown subcommand of a command group (evcli filter tset) a usage
// error with a did-you-mean, where cobra would print the group's help and
// exit 0.
func wrapArgs(c *cobra.Command) {
	if c.HasSubCommands() && !c.Runnable() && c.HasParent() {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownSubcommand(cmd, args[0])
		}
	}
	if c.Args != nil {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return &flagError{err: err, usage: cmd.CommandPath()}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}

// unknownSubcommand is the usage error for "evcli GROUP NAME" when GROUP
// has no subcommand NAME.
func unknownSubcommand(c *cobra.Command, name string) error {
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
			names = append(names, sub.Aliases...)
		}
	}
	msg := fmt.Sprintf("unknown command %q for %q", name, c.CommandPath())
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf(": did you mean %q?", s)
	} else if top, _, err := c.Root().Find([]string{name}); err == nil && top != c.Root() && c != c.Root() {
		msg += fmt.Sprintf(": did you mean \"evcli %s\"?", top.Name())
	} else {
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && slices.Contains(sub.SuggestFor, name) {
				msg += fmt.Sprintf(": did you mean %q?", sub.Name())
				break
			}
		}
	}
	return &flagError{err: fmt.Errorf("%s (commands: %s)", msg, strings.Join(availableNames(c), ", ")), usage: c.CommandPath()}
}

func availableNames(c *cobra.Command) []string {
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return names
}

// newCmdHelp replaces cobra's help command, which prints "Unknown help
// topic" and exits 0: an unknown topic is a usage error with a did-you-mean.
func newCmdHelp() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command or topic",
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			target, rest, err := root.Find(args)
			if err != nil || target == nil || len(rest) > 0 {
				name := strings.Join(args, " ")
				parent := root
				if target != nil && len(rest) > 0 {
					parent, name = target, rest[0]
				}
				return unknownSubcommand(parent, name)
			}
			target.InitDefaultHelpFlag()
			return target.Help()
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return availableNames(c.Root()), cobra.ShellCompDirectiveNoFileComp
		},
	}
}

func newCmdVersion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print evcli's version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			bi, _ := debug.ReadBuildInfo()
			v := versionOf(bi)
			if f.Globals.JSON() {
				rec := map[string]string{"type": "evcli", "version": v.Version, "goVersion": v.Go}
				if v.Commit != "" {
					rec["commit"], rec["commitTime"] = v.Commit, v.Time
					if v.Modified {
						rec["modified"] = "true"
					}
				}
				return cmdutil.NewJSONLines(f.IO.Out, "version").Write(rec)
			}
			fmt.Fprintf(f.IO.Out, "evcli %s\n", v)
			return nil
		},
	}
}

func newCmdCompletion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:       "completion bash|zsh|fish|powershell",
		Short:     "Print a shell completion script",
		Example:   "  source <(evcli completion bash)\n  evcli completion zsh > \"${fpath[1]}/_evcli\"",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(f.IO.Out, true)
			case "zsh":
				return root.GenZshCompletion(f.IO.Out)
			case "fish":
				return root.GenFishCompletion(f.IO.Out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(f.IO.Out)
			}
			return &flagError{err: fmt.Errorf("unknown shell %q: use bash, zsh, fish or powershell", args[0]), usage: c.CommandPath()}
		},
	}
}

func newHelpTopic(name, short, long string) *cobra.Command {
	c := &cobra.Command{
		Use:   name,
		Short: short,
		Long:  long,
		Run: func(c *cobra.Command, args []string) {
			fmt.Fprint(c.OutOrStdout(), long)
		},
	}
	c.SetHelpFunc(func(c *cobra.Command, args []string) { fmt.Fprint(c.OutOrStdout(), long) })
	c.Hidden = false
	c.Annotations = map[string]string{"helpTopic": "true"}
	return c
}

const environmentHelp = `Environment variables evcli reads

  EVCLI_PROVIDER, EVCLI_REGION, ...   override evcli.yaml keys (flags win over them)
  NO_COLOR                            any non-empty value turns colour off
  AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID, ...
                                      the AWS SDK's default credential chain
  AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>
                                      send AWS calls to another endpoint (LocalStack, emulators)
  AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP, AZURE_LOCATION, AZURE_CLIENT_ID, ...
                                      where an azure project deploys (after --subscription,
                                      --resource-group, --region and evcli.yaml's azure:), and
                                      azidentity's DefaultAzureCredential (else az login)
  EVCLI_AZURE_<SERVICE>_ENDPOINT      send Azure calls to another endpoint (ARM, SCM, FUNCTIONS,
                                      EVENTGRID, COSMOS, STORAGE, LOGS, METRICS)
  EVCLI_CACHE_DIR                     where linked Go bootstraps are cached between builds
                                      (default: the user cache directory, e.g. ~/.cache/evcli)

Handlers run by the local provider get AWS_ENDPOINT_URL_EVENTBRIDGE pointing at evcli's
PutEvents endpoint, AWS_REGION and dummy credentials, so the AWS SDK inside them talks
to evcli unchanged.
`

const exitCodesHelp = `Exit codes

  0    success
  1    failure: the command ran and something failed (filter test: an event did not match)
  2    usage: bad flag, argument, project file, pattern or event, or an ability the
       provider lacks (rollback on local, send --wait on aws); nothing was changed
  4    no credentials or region (or project, subscription, resource group) for a cloud provider
  130  interrupted (Ctrl-C)
`

// buildVersion is what evcli version prints, from the binary's build info.
type buildVersion struct {
	Version, Commit, Time, Go string
	Modified                  bool
}

// versionOf reads the module version (go install ...@v1.2.3), the VCS
// commit (go build in a clone) and the Go version from bi; -ldflags
// -X cmd.Version wins over the module version.
func versionOf(bi *debug.BuildInfo) buildVersion {
	v := buildVersion{Version: Version, Go: runtime.Version()}
	if bi == nil {
		return v
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	if v.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is "v1.2.3 (commit 0123abcd 2026-12-07T10:00:00Z, modified; go1.26.7)".
func (v buildVersion) String() string {
	var parts []string
	if v.Commit != "" {
		c := "commit " + v.Commit[:min(12, len(v.Commit))]
		if v.Time != "" {
			c += " " + v.Time
		}
		if v.Modified {
			c += ", modified"
		}
		parts = append(parts, c)
	}
	parts = append(parts, v.Go)
	return v.Version + " (" + strings.Join(parts, "; ") + ")"
}
