package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/internal/timespec"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/replay"
)

type replayOptions struct {
	Since, Until string
	Aggregates   []string
	Types        []string
	Pattern      string
	Limit        int
	Order        string
	To           string
	Rate         string
	Concurrency  int
	MaxAttempts  int
	DryRun       bool
	Name         string
	Resume       string
	WithReplays  bool
	Wait         bool
	Timeout      time.Duration
}

func newCmdReplay(f *cmdutil.Factory) *cobra.Command {
	var o replayOptions
	c := &cobra.Command{
		Use:   "replay --since 2h [flags]",
		Short: "Publish stored events to the bus again",
		Long: `Read stored events from the project's event store and publish them to the bus again:
in order per aggregate (by version, then time) or, with --order time, in global time
order; in batches of at most 10 entries and 256 KB; paced with --rate; resumable.

Each replayed event keeps its original envelope and carries a marker in its detail, so
consumers can tell a replay and drop repeats:

  "detail": {"_replay": {"replay-name": NAME, "replayed": true, "originalId": ID,
             "originalTime": T, "aggregateId": A, "version": V}, ...original members...}

A checkpoint is written after every acknowledged batch. An interrupted replay (Ctrl-C,
a failure, even kill -9) continues with --resume NAME: nothing is skipped, and only the
batches in flight when it stopped are published again, with the same replay ids.

--dry-run shows what would be published (counts per type and aggregate, the functions
that would receive them, a sample) and publishes nothing. Replaying to a cloud provider
asks for confirmation, or needs --yes when not running interactively.`,
		Example: `  evcli replay --since 2h --dry-run
  evcli replay --since 2026-11-01T10:00Z --until 2026-11-01T12:00Z --type OrderPlaced --rate 50/s
  evcli replay --since 24h --aggregate order-17 --aggregate order-18 --name fix-orders
  evcli replay --since 7d --pattern '{"detail":{"status":["failed"]}}' --order time
  evcli replay --resume fix-orders
  evcli replay list`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runReplay(c.Context(), f, c, o)
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Since, "since", "", "replay events from this time: "+timespec.PointForms)
	fl.StringVar(&o.Until, "until", "", "replay events before this time (default: now), in the forms --since takes")
	fl.StringArrayVar(&o.Aggregates, "aggregate", nil, "only this aggregate id (repeat for more)")
	fl.StringArrayVar(&o.Types, "type", nil, "only this detail-type (repeat for more)")
	fl.StringVar(&o.Pattern, "pattern", "", "only events matching this EventBridge pattern (JSON, or @FILE)")
	fl.IntVar(&o.Limit, "limit", 0, "replay at most N events (counted in replay order)")
	fl.StringVar(&o.Order, "order", "aggregate", "aggregate (per aggregate by version) or time (global time order)")
	fl.StringVar(&o.To, "to", "", "bus to publish to (default: the project's bus)")
	fl.StringVar(&o.Rate, "rate", "", "publish at most N events per second (N/s) or minute (N/m)")
	fl.IntVar(&o.Concurrency, "concurrency", 1, "batches in flight at once (an aggregate's batches stay in order)")
	fl.IntVar(&o.MaxAttempts, "max-attempts", 6, "tries per entry before it counts as failed")
	fl.BoolVar(&o.WithReplays, "include-replays", false, "also replay events that are themselves replays (left out by default)")
	fl.BoolVar(&o.DryRun, "dry-run", false, "show what would be replayed; publish nothing")
	fl.StringVar(&o.Name, "name", "", "name of the replay (default: replay-YYYYMMDD-HHMMSS)")
	fl.StringVar(&o.Resume, "resume", "", "continue the interrupted replay NAME with its own selection")
	fl.BoolVar(&o.Wait, "wait", false, "local provider: wait for the deliveries the replay causes")
	fl.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "with --wait: give up waiting after this long")
	c.AddCommand(newCmdReplayList(f))
	return c
}

func newCmdReplayList(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "Show past replays and their summaries",
		Example: "  evcli replay list\n  evcli replay list -o json",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runReplayList(c.Context(), f)
		},
	}
}

func replayUsage(err error) error {
	var ie *replay.InputError
	var pe *filter.PatternError
	if errors.As(err, &ie) || errors.As(err, &pe) {
		return &cmdutil.ExitError{Code: cmdutil.ExitUsage, Msg: err.Error(), Err: err}
	}
	return err
}

// replayPattern parses --pattern (JSON or @FILE).
func replayPattern(src string) (string, func([]byte) (bool, error), error) {
	if src == "" {
		return "", nil, nil
	}
	text := src
	if name, ok := strings.CutPrefix(src, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return "", nil, cmdutil.UsageError("--pattern: %v", err)
		}
		text = string(b)
	}
	pat, err := filter.Parse([]byte(text))
	if err != nil {
		return "", nil, &cmdutil.ExitError{Code: cmdutil.ExitUsage, Msg: "--pattern: " + err.Error(), Err: err}
	}
	return text, pat.Match, nil
}

func runReplay(ctx context.Context, f *cmdutil.Factory, c *cobra.Command, o replayOptions) (err error) {
	p, err := f.Project()
	if err != nil {
		return err
	}
	now := f.Now()
	cfg := replay.Config{
		Name: o.Name, Provider: providerName(p), Bus: o.To,
		Concurrency: o.Concurrency, MaxAttempts: o.MaxAttempts,
		Now: f.Now, Sleep: f.Sleep,
	}
	if cfg.Bus == "" {
		cfg.Bus = p.Bus
	}
	if cfg.Bus == "" {
		cfg.Bus = "default"
	}
	if o.Concurrency < 1 || o.Concurrency > 64 {
		return cmdutil.UsageError("--concurrency %d: use 1 to 64", o.Concurrency)
	}
	if o.MaxAttempts < 1 {
		return cmdutil.UsageError("--max-attempts %d: use 1 or more", o.MaxAttempts)
	}
	if cfg.Rate, err = replay.ParseRate(o.Rate); err != nil {
		return replayUsage(err)
	}
	need := []providers.Ability{providers.AbilityStore, providers.AbilityState}
	if !o.DryRun {
		need = append(need, providers.AbilityPublish)
	}
	if o.Wait {
		need = append(need, providers.AbilityWait)
	}
	prov, err := openProvider(ctx, f, p, need)
	if err != nil {
		return err
	}
	// Close lets an in-process provider finish the deliveries the replay
	// caused before evcli exits; Ctrl-C, or --wait's --timeout running
	// out (closeCtx), stops that and leaves them to the next process.
	closeCtx := ctx
	defer func() { closeProvider(closeCtx, waiterOf(f), prov, &err) }()
	cps := replay.KVCheckpoints{KV: prov.State}

	if o.Resume != "" {
		for _, name := range []string{"since", "until", "aggregate", "type", "pattern", "limit", "order", "name", "include-replays", "to"} {
			if c.Flags().Changed(name) {
				return cmdutil.UsageError("--resume continues replay %s with its own selection: drop --%s", o.Resume, name)
			}
		}
		rec, ok, err := cps.Get(ctx, o.Resume)
		if err != nil {
			return err
		}
		if !ok {
			return cmdutil.UsageError("--resume: no replay named %q; see evcli replay list", o.Resume)
		}
		cfg.Name, cfg.Resume, cfg.Selection = rec.Name, true, rec.Selection
		if rec.Bus != "" {
			cfg.Bus = rec.Bus
		}
		if _, cfg.Match, err = replayPattern(rec.Selection.Pattern); err != nil {
			return err
		}
	} else {
		if o.Since == "" {
			return cmdutil.UsageError("--since is required: say how far back to replay, e.g. --since 2h or --since 2026-11-01T10:00Z")
		}
		sel := replay.Selection{Aggregates: o.Aggregates, Types: o.Types, Limit: o.Limit, IncludeReplays: o.WithReplays}
		if sel.Since, err = timespec.ParsePoint("--since", o.Since, now); err != nil {
			return cmdutil.UsageError("%v", err)
		}
		if sel.Until, err = timespec.ParsePoint("--until", o.Until, now); err != nil {
			return cmdutil.UsageError("%v", err)
		}
		if sel.Until.IsZero() {
			sel.Until = now // fixed, so that --resume selects the same events
		}
		if !sel.Until.After(sel.Since) {
			return cmdutil.UsageError("--until %s is not after --since %s", sel.Until.Format(time.RFC3339), sel.Since.Format(time.RFC3339))
		}
		if sel.Order, err = replay.ParseOrder(o.Order); err != nil {
			return replayUsage(err)
		}
		if o.Limit < 0 {
			return cmdutil.UsageError("--limit %d: use a positive number", o.Limit)
		}
		if sel.Pattern, cfg.Match, err = replayPattern(o.Pattern); err != nil {
			return err
		}
		cfg.Selection = sel
		if cfg.Name == "" {
			cfg.Name = replay.DefaultName(now)
		}
	}

	var jl *cmdutil.JSONLines
	if f.Globals.JSON() {
		jl = cmdutil.NewJSONLines(f.IO.Out, "replay")
	}
	gaps := 0
	cfg.OnGap = func(g replay.Gap) {
		gaps++
		switch {
		case jl != nil:
			_ = jl.Write(map[string]any{"type": "gap", "aggregateId": g.Aggregate, "after": g.After, "next": g.Next, "kind": g.Kind})
		case gaps <= 10:
			fmt.Fprintln(f.IO.ErrOut, "warning: "+g.String())
		}
	}

	es := prov.Store
	if o.DryRun {
		if prov.Router != nil {
			if cfg.Targets, err = prov.Router.Route(ctx, cfg.Bus); err != nil {
				return err
			}
		}
		plan, err := replay.DryRun(ctx, cfg, es, cps)
		if err != nil {
			return replayUsage(err)
		}
		replayGapTail(f, jl, gaps)
		printReplayPlan(f, jl, plan, cfg.Targets != nil)
		return nil
	}

	if !prov.Private && !f.Globals.Yes {
		if !f.IO.CanPrompt() {
			return cmdutil.UsageError("replaying to bus %s on %s publishes to real consumers: use --yes to confirm when not running interactively", cfg.Bus, prov.Name)
		}
		ok, err := replayConfirm(f, fmt.Sprintf("Replay events %s to bus %s on %s? [y/N] ", replayDescribe(cfg.Selection), cfg.Bus, prov.Name))
		if err != nil {
			return err
		}
		if !ok {
			return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Msg: "replay cancelled"}
		}
	}

	// Batches as large as the provider's bus takes in one call (the local
	// bus stores a call in one transaction: larger batches cost less).
	cfg.MaxBatchEntries, cfg.MaxBatchBytes = prov.BusLimits.Entries, prov.BusLimits.Bytes

	var bar *replay.Bar
	switch {
	case jl != nil:
		var last time.Time
		cfg.OnProgress = func(pr replay.Progress) {
			t := f.Now()
			if pr.Phase != replay.PhaseDone && !last.IsZero() && t.Sub(last) < time.Second {
				return
			}
			last = t
			_ = jl.Write(map[string]any{"type": "progress", "name": cfg.Name, "phase": pr.Phase, "read": pr.Read, "total": pr.Total,
				"published": pr.Published, "failed": pr.Failed, "skipped": pr.Skipped})
		}
	case f.IO.IsStderrTTY():
		bar = &replay.Bar{W: f.IO.ErrOut, Now: f.Now}
		cfg.OnProgress = bar.Update
	}

	sum, runErr := replay.Run(ctx, cfg, es, prov.Bus, cps)
	if bar != nil {
		bar.Finish()
	}
	replayGapTail(f, jl, gaps)
	if runErr != nil {
		var ie *replay.InputError
		if errors.As(runErr, &ie) {
			return replayUsage(runErr)
		}
	}
	printReplaySummary(f, jl, sum)
	if runErr != nil {
		if sum.State != "" {
			fmt.Fprintf(f.IO.ErrOut, "continue it with: evcli replay --resume %s\n", cfg.Name)
		}
		return runErr
	}
	if o.Wait {
		wctx := ctx
		if o.Timeout > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(ctx, o.Timeout)
			defer cancel()
		}
		dels, err := prov.Waiter.Wait(wctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				closeCtx = wctx // gave up: do not wait in Close either
				return fmt.Errorf("gave up waiting after %s (--timeout)", o.Timeout)
			}
			return err
		}
		if failed := printDeliveries(f, f.Globals.JSON(), nil, dels); failed > 0 {
			fmt.Fprintf(f.IO.ErrOut, "%d of %d deliveries failed\n", failed, len(dels))
		}
	}
	if sum.Failed > 0 {
		return cmdutil.Silent(cmdutil.ExitFailure)
	}
	return nil
}

func replayGapTail(f *cmdutil.Factory, jl *cmdutil.JSONLines, gaps int) {
	if jl == nil && gaps > 10 {
		fmt.Fprintf(f.IO.ErrOut, "warning: %d more gaps in aggregate versions\n", gaps-10)
	}
}

func replayDescribe(s replay.Selection) string {
	var b strings.Builder
	fmt.Fprintf(&b, "from %s to %s", s.Since.UTC().Format(time.RFC3339), s.Until.UTC().Format(time.RFC3339))
	if s.Until.IsZero() {
		b.Reset()
		fmt.Fprintf(&b, "since %s", s.Since.UTC().Format(time.RFC3339))
	}
	if len(s.Aggregates) > 0 {
		fmt.Fprintf(&b, " of aggregates %s", strings.Join(s.Aggregates, ", "))
	}
	if len(s.Types) > 0 {
		fmt.Fprintf(&b, " of types %s", strings.Join(s.Types, ", "))
	}
	if s.Pattern != "" {
		b.WriteString(" matching --pattern")
	}
	return b.String()
}

func replayConfirm(f *cmdutil.Factory, question string) (bool, error) {
	fmt.Fprint(f.IO.ErrOut, question)
	line, err := bufio.NewReader(f.IO.In).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

func printReplaySummary(f *cmdutil.Factory, jl *cmdutil.JSONLines, s replay.Summary) {
	if jl != nil {
		for _, fl := range s.Failures {
			_ = jl.Write(map[string]any{"type": "failure", "name": s.Name, "originalId": fl.OriginalID, "code": fl.Code, "message": fl.Message})
		}
		_ = jl.Write(map[string]any{"type": "summary", "name": s.Name, "state": s.State, "selected": s.Selected,
			"published": s.Published, "failed": s.Failed, "skipped": s.Skipped, "gaps": s.Gaps})
		return
	}
	for i, fl := range s.Failures {
		if i == 10 {
			fmt.Fprintf(f.IO.ErrOut, "... and %d more failed entries\n", s.Failed-10)
			break
		}
		fmt.Fprintf(f.IO.ErrOut, "failed: event %s: %s: %s\n", fl.OriginalID, fl.Code, fl.Message)
	}
	fmt.Fprintf(f.IO.Out, "replay %s %s: %d selected, %d published, %d failed, %d skipped\n",
		s.Name, s.State, s.Selected, s.Published, s.Failed, s.Skipped)
}

func printReplayPlan(f *cmdutil.Factory, jl *cmdutil.JSONLines, plan replay.Plan, haveTargets bool) {
	if jl != nil {
		m := map[string]any{"type": "plan", "name": plan.Name, "bus": plan.Bus, "selected": plan.Selected, "skipped": plan.Skipped,
			"publish": plan.Publish, "batches": plan.Batches, "bytes": plan.Bytes, "byType": plan.ByType,
			"byAggregate": plan.ByAggregate, "otherAggregates": plan.OtherAggregates, "sample": replaySample(plan.Sample),
			"unsendable": plan.Unsendable, "gaps": plan.GapCount}
		if haveTargets {
			m["byTarget"] = plan.ByTarget
		}
		_ = jl.Write(m)
		return
	}
	w := f.IO.Out
	fmt.Fprintf(w, "dry run %s: %s would be published to bus %s in %s (%d bytes)", plan.Name,
		replayPlural(plan.Publish, "event"), plan.Bus, replayPlural(plan.Batches, "batch"), plan.Bytes)
	if plan.Skipped > 0 {
		fmt.Fprintf(w, "; %d already done", plan.Skipped)
	}
	fmt.Fprintln(w, "; nothing published")
	table := func(title string, rows []replay.NameCount, limit int, other int64) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintln(w, title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for i, r := range rows {
			if i == limit {
				fmt.Fprintf(tw, "  (%d more)\t\n", len(rows)-limit)
				break
			}
			name := r.Name
			if name == "" {
				name = "(none)"
			}
			fmt.Fprintf(tw, "  %s\t%d\n", name, r.Count)
		}
		if other > 0 {
			fmt.Fprintf(tw, "  (other aggregates)\t%d\n", other)
		}
		tw.Flush()
	}
	table("by type:", plan.ByType, 20, 0)
	table("by aggregate:", plan.ByAggregate, 20, plan.OtherAggregates)
	switch {
	case !haveTargets:
		fmt.Fprintln(w, "receivers: not known for this provider")
	case len(plan.ByTarget) == 0:
		fmt.Fprintln(w, "receivers: no deployed rule matches these events")
	default:
		table("receivers (functions whose rules match):", plan.ByTarget, 50, 0)
	}
	for _, u := range plan.Unsendable {
		fmt.Fprintf(w, "cannot publish event %s: %s: %s\n", u.OriginalID, u.Code, u.Message)
	}
	if len(plan.Sample) > 0 {
		fmt.Fprintln(w, "sample:")
		for _, s := range replaySample(plan.Sample) {
			fmt.Fprintf(w, "  %s\n", truncateSample(s, sampleWidth))
		}
	}
}

func replayPlural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "ch") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// sampleWidth is how much of a sample event a dry run prints as text.
const sampleWidth = 400

// truncateSample cuts s to at most n bytes (at a rune boundary) and says
// how much it left out.
func truncateSample(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%s more; -o json prints the whole event)", s[:cut], humanBytes(len(s)-cut))
}

func humanBytes(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func replaySample(evs []providers.Event) []string {
	out := make([]string, 0, len(evs))
	for i := range evs {
		b, err := providers.MarshalEnvelope(&evs[i])
		if err == nil {
			out = append(out, string(b))
		}
	}
	return out
}

func runReplayList(ctx context.Context, f *cmdutil.Factory) (err error) {
	p, err := f.Project()
	if err != nil {
		return err
	}
	prov, err := openProvider(ctx, f, p, []providers.Ability{providers.AbilityState})
	if err != nil {
		return err
	}
	defer closeProvider(ctx, waiterOf(f), prov, &err)
	recs, err := replay.List(ctx, replay.KVCheckpoints{KV: prov.State})
	if err != nil {
		return err
	}
	if f.Globals.JSON() {
		jl := cmdutil.NewJSONLines(f.IO.Out, "replay list")
		for _, r := range recs {
			_ = jl.Write(map[string]any{"type": "replay", "name": r.Name, "state": r.State, "provider": r.Provider, "bus": r.Bus,
				"started": r.Started.UTC().Format(time.RFC3339), "updated": r.Updated.UTC().Format(time.RFC3339), "runs": r.Runs,
				"selection": r.Selection, "selected": r.Totals.Selected, "published": r.Totals.Published,
				"failed": r.Totals.Failed, "skipped": r.Totals.Skipped, "gaps": r.Gaps, "error": r.Error})
		}
		return nil
	}
	if len(recs) == 0 {
		fmt.Fprintln(f.IO.ErrOut, "no replays yet; start one with: evcli replay --since 1h")
		return nil
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tSTARTED\tSELECTED\tPUBLISHED\tFAILED\tSKIPPED\tBUS\tSELECTION")
	for _, r := range recs {
		started := r.Started.UTC().Format(time.RFC3339)
		if f.IO.IsStdoutTTY() {
			started = replayRelTime(f.Now(), r.Started)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", r.Name, r.State, started, r.Totals.Selected,
			r.Totals.Published, r.Totals.Failed, r.Totals.Skipped, r.Bus, replayDescribe(r.Selection))
	}
	return tw.Flush()
}

func replayRelTime(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
