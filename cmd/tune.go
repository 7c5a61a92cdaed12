package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/internal/timespec"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/tune"
)

// tuneOptions are tune memory's dependencies and flag values.
type tuneOptions struct {
	IO      *cmdutil.IOStreams
	Globals *cmdutil.Globals
	Now     func() time.Time
	Project func() (*project.Project, error)
	// OpenProvider opens the project's provider with the abilities the
	// flags need.
	OpenProvider func(ctx context.Context, p *project.Project, need []providers.Ability) (*providers.Provider, error)
	// SetMemory writes the new memory into evcli.yaml, keeping its layout.
	SetMemory func(path, function string, mb int) error

	Functions   []string
	Since       string
	Strategy    string
	Weight      float64
	Headroom    float64
	Sizes       string
	Probe       bool
	Payload     string
	Runs        int
	Apply       bool
	MaxIncrease string
	MinSaving   string
	// MinSavingForSlowdown: what a slower size must save (percent).
	MinSavingForSlowdown string
}

func newCmdTune(f *cmdutil.Factory) *cobra.Command {
	c := &cobra.Command{Use: "tune", Short: "Right-size functions from observed metrics"}
	c.AddCommand(newCmdTuneMemory(f, nil))
	return c
}

// newCmdTuneMemory builds `tune memory`; runF, when set, is called instead
// of runTuneMemory (flag tests).
func newCmdTuneMemory(f *cmdutil.Factory, runF func(*tuneOptions) error) *cobra.Command {
	o := &tuneOptions{
		IO: f.IO, Globals: f.Globals, Now: f.Now, Project: f.Project,
		SetMemory: project.SetMemory,
	}
	o.OpenProvider = func(ctx context.Context, p *project.Project, need []providers.Ability) (*providers.Provider, error) {
		return openProvider(ctx, f, p, need)
	}
	c := &cobra.Command{
		Use:   "memory",
		Short: "Recommend (and apply) function memory from observed metrics",
		Long: `Recommend a memory size for each function from its observed invocations: duration
percentiles, billed and init duration, Max Memory Used and, on the local provider, the
CPU time of each invocation. Each cloud is modelled as it runs functions: its memory
sizes, the vCPUs each gets and how it bills. Lambda (aws, local) takes any size from
128 to 10,240 MB and gives CPU in proportion to memory (1,769 MB = one vCPU, up to 6);
Cloud Run functions (gcp) have tiers of 128 MiB to 8 GiB with Google's default CPU
for each (.083 vCPU at 128 MiB, 1 at 2 GiB, 2 at 4 and 8 GiB); Flex Consumption
(azure) has instances of 512, 2048 and 4096 MB. Only a size the cloud has is
recommended. The CPU-bound part of a duration is scaled by the vCPUs, the rest is
not. Handlers are assumed single-threaded: nothing is gained above one vCPU.
When the CPU share is unknown (AWS), smaller sizes are assumed fully CPU-bound and
larger ones no faster, so a saving is never overstated; --probe measures instead.
No size below Max Memory Used p99 plus --headroom is recommended.

Strategies are those of the AWS Lambda Power Tuning tool: cost (cheapest; ties go
to the faster), speed (fastest, where sizes within 5% of the fastest count as equally
fast and the cheaper wins), balanced (minimises
weight*cost/maxCost + (1-weight)*duration/maxDuration, --weight 0 = speed, 1 = cost).
Prices come from the provider's embedded, dated table (Lambda's for aws and local:
x86_64 and arm64, first tier, $0.20 per million requests; Cloud Run's request-based
prices for gcp: per vCPU-second, per GiB-second and per request, tier 1 or 2 by
region, billed per 100 ms; Azure Flex Consumption's for azure: per GB-second of
instance memory and per execution) unless evcli.yaml has a prices: section.

--probe invokes the function --runs times at each size and measures, dropping cold
starts and outliers (beyond 1.5 IQR of the quartiles). On AWS each size runs in a
temporary copy of the function that is deleted afterwards, even on Ctrl-C; the live
function is not touched.

--apply sets the recommended memory on the deployed function, waits until the update
is done, and writes it into evcli.yaml (comments and layout kept), within
--max-increase and --min-saving. Low-confidence recommendations are not applied.

-o json prints, after the version line, one object per function:
  {"type":"recommendation","function":...,"strategy":...,"currentMemoryMB":...,
   "recommendedMemoryMB":...,"estimates":[{"memoryMB":...,"durationMs":...,
   "costPerInvocationUSD":...}],"monthlySavingUSD":...,"confidence":...,"reason":...}`,
		Example: `  evcli tune memory
  evcli tune memory --function orders --since 24h --strategy speed
  evcli tune memory --strategy balanced --weight 0.3 --sizes 256,512,1024,1769
  evcli tune memory --function thumbnails --probe --payload @events/image.json --runs 20
  evcli tune memory --apply --min-saving 10% --max-increase 2x --yes
  evcli tune memory -o json | jq 'select(.type == "recommendation") | {function, recommendedMemoryMB}'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return runTuneMemory(c.Context(), o)
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&o.Functions, "function", nil, "function to tune; repeat for more (default: all in evcli.yaml)")
	fl.StringVar(&o.Since, "since", "7d", "observe this long back, at most 3660d: "+timespec.DurationForms)
	fl.StringVar(&o.Strategy, "strategy", "cost", "cost, speed or balanced")
	fl.Float64Var(&o.Weight, "weight", tune.DefaultWeight, "balanced strategy: 0 favours speed, 1 favours cost")
	fl.Float64Var(&o.Headroom, "headroom", tune.DefaultHeadroom, "memory kept above Max Memory Used p99 (0.2 = 20%)")
	fl.StringVar(&o.Sizes, "sizes", "", "candidate sizes in MB, comma-separated, that the cloud has (default: its sizes, Lambda's 128..10240 standard list; with --probe Lambda's 128,512,1024,1769,3008)")
	fl.BoolVar(&o.Probe, "probe", false, "measure at each size by invoking the function instead of estimating")
	fl.StringVar(&o.Payload, "payload", "", "the event --probe invokes with: JSON, @file, or - for stdin")
	fl.IntVar(&o.Runs, "runs", 20, "--probe: invocations per size")
	fl.BoolVar(&o.Apply, "apply", false, "set the recommended memory on the deployed function and in evcli.yaml")
	fl.StringVar(&o.MaxIncrease, "max-increase", "2x", "--apply: largest increase, as a factor (2x) or MB (512); none for no bound")
	fl.StringVar(&o.MinSavingForSlowdown, "min-saving-for-slowdown", "10%", "least saving, in percent of the monthly cost, for which a size more than 10% slower (p95) than today is recommended")
	fl.StringVar(&o.MinSaving, "min-saving", "", "--apply: least monthly saving worth a change, in USD (1.50) or percent (10%); not for --strategy speed")
	return c
}

// tunePlan is the validated form of the flags.
type tunePlan struct {
	cfg     tune.Config
	window  time.Duration
	bounds  tune.Bounds
	payload []byte
}

func (o *tuneOptions) validate() (tunePlan, error) {
	var pl tunePlan
	var err error
	if pl.window, err = timespec.ParseDuration("--since", o.Since, tune.MaxWindow); err != nil {
		return pl, cmdutil.UsageError("%v", err)
	}
	if pl.cfg.Strategy, err = tune.ParseStrategy(o.Strategy); err != nil {
		return pl, cmdutil.UsageError("%v", err)
	}
	if o.Weight < 0 || o.Weight > 1 {
		return pl, cmdutil.UsageError("invalid --weight %g: use a number from 0 (speed) to 1 (cost)", o.Weight)
	}
	if o.Headroom < 0 || o.Headroom > 4 {
		return pl, cmdutil.UsageError("invalid --headroom %g: use a fraction such as 0.2 for 20%%", o.Headroom)
	}
	pl.cfg.Weight, pl.cfg.Headroom = o.Weight, o.Headroom
	if err := tune.ParseMinSavingForSlowdown(o.MinSavingForSlowdown, &pl.cfg); err != nil {
		return pl, cmdutil.UsageError("%v", err)
	}
	if o.Sizes != "" {
		if pl.cfg.Sizes, err = tune.ParseSizes(o.Sizes); err != nil {
			return pl, cmdutil.UsageError("%v", err)
		}
	}
	if err := tune.ParseMaxIncrease(o.MaxIncrease, &pl.bounds); err != nil {
		return pl, cmdutil.UsageError("%v", err)
	}
	if err := tune.ParseMinSaving(o.MinSaving, &pl.bounds); err != nil {
		return pl, cmdutil.UsageError("%v", err)
	}
	if o.Probe {
		if o.Runs < 1 || o.Runs > 1000 {
			return pl, cmdutil.UsageError("invalid --runs %d: use 1 to 1000 (20 is a good start)", o.Runs)
		}
		if o.Payload == "" {
			return pl, cmdutil.UsageError("--probe needs --payload: the event to invoke the function with (JSON or @file)")
		}
		if pl.payload, err = readTunePayload(o.Payload, o.IO.In); err != nil {
			return pl, err
		}
	} else if o.Payload != "" {
		return pl, cmdutil.UsageError("--payload is only used with --probe")
	}
	return pl, nil
}

func readTunePayload(arg string, stdin io.Reader) ([]byte, error) {
	var b []byte
	var err error
	switch {
	case arg == "-":
		b, err = io.ReadAll(stdin)
	case strings.HasPrefix(arg, "@"):
		b, err = os.ReadFile(arg[1:])
	default:
		b = []byte(arg)
	}
	if err != nil {
		return nil, cmdutil.UsageError("--payload %s: %v", arg, err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		where := "--payload"
		if strings.HasPrefix(arg, "@") {
			where = arg[1:]
		}
		if se, ok := err.(*json.SyntaxError); ok {
			line, col := tuneLineCol(b, se.Offset)
			return nil, cmdutil.UsageError("%s:%d:%d: not valid JSON: %v; pass a JSON event, @file or -", where, line, col, err)
		}
		return nil, cmdutil.UsageError("%s: not valid JSON: %v; pass a JSON event, @file or -", where, err)
	}
	return b, nil
}

func tuneLineCol(b []byte, off int64) (int, int) {
	line, col := 1, 1
	for i := int64(0); i < off-1 && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// tuneFunctions resolves --function against the project.
func (o *tuneOptions) tuneFunctions(p *project.Project) ([]project.Function, error) {
	if len(o.Functions) == 0 {
		if len(p.Functions) == 0 {
			return nil, cmdutil.UsageError("%s has no functions to tune", p.Path)
		}
		return p.Functions, nil
	}
	names := make([]string, len(p.Functions))
	for i, fn := range p.Functions {
		names[i] = fn.Name
	}
	var out []project.Function
	for _, name := range o.Functions {
		fn := p.Function(name)
		if fn == nil {
			msg := fmt.Sprintf("no function %q in %s", name, p.Path)
			if s := suggest(name, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else if len(names) > 0 {
				msg += "; functions: " + strings.Join(names, ", ")
			}
			return nil, cmdutil.UsageError("%s", msg)
		}
		out = append(out, *fn)
	}
	return out, nil
}

func runTuneMemory(ctx context.Context, o *tuneOptions) (err error) {
	pl, err := o.validate()
	if err != nil {
		return err
	}
	p, err := o.Project()
	if err != nil {
		return err
	}
	fns, err := o.tuneFunctions(p)
	if err != nil {
		return err
	}
	var override *tune.PriceOverride
	if p.Prices != nil {
		override = &tune.PriceOverride{GBSecondX86: p.Prices.GBSecondX86, GBSecondArm: p.Prices.GBSecondArm, PerMillionReqUSD: p.Prices.PerMillionReq}
	}
	// Every ability is checked before any work starts, so that "cannot
	// probe here" is said first.
	need := []providers.Ability{providers.AbilityMetrics}
	if o.Probe {
		need = append(need, providers.AbilityProbe)
	}
	if o.Apply {
		need = append(need, providers.AbilityMemory)
	}
	prov, err := o.OpenProvider(ctx, p, need)
	if err != nil {
		return err
	}
	defer closeProvider(ctx, waiter{IO: o.IO, Now: o.Now}, prov, &err)
	// The cloud's sizes, CPU per size and billing step come with its
	// prices (Lambda's when it says none).
	comp := tune.ComputeOf(prov.Prices)
	if err := tune.CheckSizes(comp, pl.cfg.Sizes); err != nil {
		return cmdutil.UsageError("%v", err)
	}
	pl.cfg.Compute = &comp
	// Prices are the provider's (Lambda's table when it sets none).
	var tfs []tune.Function
	for _, fn := range fns {
		price, note, err := tune.PriceOf(prov.Prices, p.Region, fn.Architecture, override)
		if err != nil {
			return cmdutil.UsageError("function %s: %v", fn.Name, err)
		}
		tfs = append(tfs, tune.Function{Name: fn.Name, MemoryMB: fn.MemoryMB, Price: price, PriceNote: note})
	}
	metrics, applier := prov.Metrics, prov.Memory
	var prober providers.Prober
	if o.Probe {
		prober = prov.Prober
	}
	until := o.Now()
	recs, err := tune.Run(ctx, tune.Options{
		Functions: tfs, Since: until.Add(-pl.window), Until: until, Config: pl.cfg,
		Metrics: metrics, Totals: prov.Totals, Prober: prober, Payload: pl.payload, Runs: o.Runs,
		Progress: func(e tune.ProbeEvent) {
			if !e.Done {
				fmt.Fprintf(o.IO.ErrOut, "probing %s at %d MB (%d/%d, %d runs)\n", e.Function, e.MemoryMB, e.Index+1, e.Total, o.Runs)
			}
		},
	})
	if err != nil {
		return err
	}
	var jl *cmdutil.JSONLines
	if o.Globals.JSON() {
		jl = cmdutil.NewJSONLines(o.IO.Out, "tune memory")
		for _, r := range recs {
			if err := jl.Write(r.JSON()); err != nil {
				return err
			}
		}
	} else if err := tune.WriteText(o.IO.Out, recs, tune.TextOptions{Color: o.IO.ColorEnabled()}); err != nil {
		return err
	}
	if !o.Apply {
		return nil
	}
	return o.apply(ctx, p, applier, recs, pl.bounds, jl)
}

// tuneApplyRecord is the -o json line for one --apply decision.
type tuneApplyRecord struct {
	Type         string `json:"type"` // "apply"
	Function     string `json:"function"`
	FromMemoryMB int    `json:"fromMemoryMB"`
	ToMemoryMB   int    `json:"toMemoryMB"`
	Applied      bool   `json:"applied"`
	Reason       string `json:"reason,omitempty"`
}

func (o *tuneOptions) apply(ctx context.Context, p *project.Project, applier providers.MemorySetter, recs []tune.Recommendation, b tune.Bounds, jl *cmdutil.JSONLines) error {
	type change struct {
		r   tune.Recommendation
		ok  bool
		why string
	}
	var changes []change
	for _, r := range recs {
		ok, why := b.Allow(r)
		if ok && r.Confidence == tune.Low {
			ok, why = false, "low confidence: measure with --probe --payload @event.json, or collect more invocations"
		}
		changes = append(changes, change{r, ok, why})
	}
	report := func(c change, applied bool, why string) {
		if jl != nil {
			_ = jl.Write(tuneApplyRecord{Type: "apply", Function: c.r.Function, FromMemoryMB: c.r.CurrentMemoryMB,
				ToMemoryMB: c.r.RecommendedMemoryMB, Applied: applied, Reason: why})
		}
	}
	var todo []change
	for _, c := range changes {
		if !c.ok {
			fmt.Fprintf(o.IO.ErrOut, "  %s: not applied: %s\n", c.r.Function, c.why)
			report(c, false, c.why)
			continue
		}
		todo = append(todo, c)
	}
	if len(todo) == 0 {
		return nil
	}
	if !o.Globals.Yes {
		if !o.IO.CanPrompt() {
			return cmdutil.UsageError("--apply would change %d function%s: use --yes to confirm when not running interactively", len(todo), tunePlural(len(todo)))
		}
		for _, c := range todo {
			fmt.Fprintf(o.IO.ErrOut, "  %s: %d MB -> %d MB\n", c.r.Function, c.r.CurrentMemoryMB, c.r.RecommendedMemoryMB)
		}
		fmt.Fprintf(o.IO.ErrOut, "Apply to the deployed function%s and %s? [y/N] ", tunePlural(len(todo)), p.Path)
		line, _ := bufio.NewReader(o.IO.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(o.IO.ErrOut, "nothing applied")
			return nil
		}
	}
	var failed int
	for _, c := range todo {
		fn := c.r.Function
		live, err := tune.ApplyMemory(ctx, applier, fn, c.r.RecommendedMemoryMB)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
			fmt.Fprintf(o.IO.ErrOut, "! %s: %v\n", fn, err)
			report(c, false, err.Error())
			continue
		}
		if err := o.SetMemory(p.Path, fn, c.r.RecommendedMemoryMB); err != nil {
			failed++
			msg := fmt.Sprintf("deployed at %d MB, but %s was not updated: %v; set memory: %d for %s by hand", c.r.RecommendedMemoryMB, p.Path, err, c.r.RecommendedMemoryMB, fn)
			fmt.Fprintf(o.IO.ErrOut, "! %s: %s\n", fn, msg)
			report(c, false, msg)
			continue
		}
		where := "deployed function"
		if live != "" {
			where += ": " + live + ";"
		}
		fmt.Fprintf(o.IO.ErrOut, "~ %s: memory %d MB -> %d MB (%s and %s)\n", fn, c.r.CurrentMemoryMB, c.r.RecommendedMemoryMB, where, p.Path)
		report(c, true, "")
	}
	if failed > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Msg: fmt.Sprintf("tune memory --apply: %d of %d changes failed", failed, len(todo))}
	}
	return nil
}

func tunePlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
