package local

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/bus"
	"github.com/evcli/evcli/providers/local/store"
)

// Open opens the local provider of the project in o.Dir: its state lives in
// o.Dir/.evcli. It needs no account. Whatever cloud store evcli.yaml names,
// events on this machine are kept in the local store. The store opens lazily, on the first
// ability that reads it; the engine (runtime, bus) starts on the first
// publish or invoke, in this process unless `evcli local serve` runs for
// the project, and Close lets its deliveries finish.
func Open(ctx context.Context, o providers.OpenOptions) (*providers.Provider, error) {
	if o.ArtifactBucket != "" {
		return nil, &providers.Error{Code: providers.Unsupported, Resource: "local",
			Err: fmt.Errorf("an artifact bucket is for clouds that upload code: the local provider runs the zips in place")}
	}
	if o.LogRetentionDays != 0 {
		return nil, &providers.Error{Code: providers.Unsupported, Resource: "local",
			Err: fmt.Errorf("log retention is set per cloud log service: the local provider keeps its logs in .evcli/state.db")}
	}
	dir := filepath.Join(o.Dir, ".evcli")
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	lo := Options{Dir: dir, Region: o.Region, Warnf: o.Warnf}
	if o.Debug != nil {
		lo.Logf = o.Debugf
	}
	d := &driver{o: lo, busName: o.Bus, now: o.Now, sleep: o.Sleep, workflowSpecs: o.Workflows}
	if d.now == nil {
		d.now = time.Now
	}
	if d.sleep == nil {
		d.sleep = providers.Sleep
	}
	t := NewTuner(lo)
	t.Notef = o.Warnf
	p := &providers.Provider{
		Name:      "local",
		Private:   true,
		Deployer:  (*deployAbility)(d),
		Bus:       (*busAbility)(d),
		BusLimits: providers.BatchLimits{Entries: bus.PublishBatchEntries, Bytes: bus.PublishBatchBytes},
		Store:     (*storeAbility)(d),
		Logs:      (*storeAbility)(d),
		Metrics:   (*storeAbility)(d),
		Invoker:   (*busAbility)(d),
		Waiter:    (*busAbility)(d),
		Router:    (*storeAbility)(d),
		Prober:    t,
		Memory:    t,
		Server:    (*serverAbility)(d),
		State:     (*stateAbility)(d),
		Workflows: (*workflowAbility)(d),
		Shared:    (*workflowShared)(d),
		Drainer:   (*drainAbility)(d),
		Missing: map[providers.Ability]string{
			providers.AbilityRollback: "it keeps no earlier versions; deploy the earlier code again",
			providers.AbilityExport:   "it runs on this machine, so there is no template to write; pass --provider aws for CloudFormation, SAM or Terraform",
		},
	}
	p.OnClose(d.close)
	return p, nil
}

// driver is the local provider's state behind its abilities.
type driver struct {
	o       Options
	busName string

	dbOnce sync.Once
	db     *store.DB
	dbErr  error

	stateOnce sync.Once
	state     *store.DB
	stateErr  error

	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	// workflowSpecs are the project's workflows, for deploy.
	workflowSpecs []providers.WorkflowSpec

	mu        sync.Mutex
	session   Session
	flow      string
	workflows *workflows
}

// store opens the project's store on first use; read-only when this user
// cannot write the project (tail and replay --dry-run work there).
func (d *driver) store() (*store.DB, error) {
	d.dbOnce.Do(func() { d.db, d.dbErr = store.OpenReader(d.o.Dir) })
	return d.db, d.dbErr
}

// connect returns the session, connecting on first use, and the flow every
// publish of this provider shares (so Wait waits for all of them).
func (d *driver) connect(ctx context.Context) (Session, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.session == nil {
		s, err := Connect(ctx, d.o)
		if err != nil {
			return nil, "", err
		}
		d.session, d.flow = s, bus.NewUUID()
	}
	return d.session, d.flow, nil
}

func (d *driver) close(ctx context.Context) error {
	var errs []error
	d.mu.Lock()
	wf := d.workflows
	d.mu.Unlock()
	if wf != nil {
		// executions of this process call functions through the session
		wf.close(ctx)
	}
	d.mu.Lock()
	s := d.session
	d.session = nil
	d.mu.Unlock()
	if s != nil {
		errs = append(errs, s.Close(ctx))
	}
	if d.db != nil {
		errs = append(errs, d.db.Close())
	}
	if d.state != nil {
		errs = append(errs, d.state.Close())
	}
	return joinErrs(errs)
}

func joinErrs(errs []error) error {
	errs = slices.DeleteFunc(errs, func(e error) bool { return e == nil })
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return fmt.Errorf("%v (and %d more)", errs[0], len(errs)-1)
}

// deployAbility is the local Deployer over the store; a running server is
// told to reload what changed.
type deployAbility driver

func (a *deployAbility) deployer() (*Deployer, error) {
	db, err := (*driver)(a).store()
	if err != nil {
		return nil, err
	}
	return NewDeployer(db, a.o.Dir, ReloadServer(a.o.Dir)), nil
}

func (a *deployAbility) Deployed(ctx context.Context) ([]providers.FunctionDeployment, error) {
	d, err := a.deployer()
	if err != nil {
		return nil, err
	}
	return d.Deployed(ctx)
}

func (a *deployAbility) ApplyFunction(ctx context.Context, fd providers.FunctionDeployment, codeChanged bool, step func(string)) error {
	d, err := a.deployer()
	if err != nil {
		return err
	}
	fd.Role = "" // only clouds with IAM run functions with a role
	return d.ApplyFunction(ctx, fd, codeChanged, step)
}

func (a *deployAbility) HashSecrets(ctx context.Context, values map[string]string) (map[string]string, error) {
	d, err := a.deployer()
	if err != nil {
		return nil, err
	}
	return d.HashSecrets(ctx, values)
}

func (a *deployAbility) DeleteFunction(ctx context.Context, name string) error {
	d, err := a.deployer()
	if err != nil {
		return err
	}
	return d.DeleteFunction(ctx, name)
}

// busAbility publishes, waits and invokes through the session.
type busAbility driver

func (a *busAbility) Publish(ctx context.Context, busName string, evs []providers.Event) ([]providers.PublishResult, error) {
	s, flow, err := (*driver)(a).connect(ctx)
	if err != nil {
		return nil, err
	}
	res, err := s.Publish(ctx, flow, busName, evs)
	for i := range res {
		res[i].Code = classifyEntry(res[i].ErrorCode)
	}
	return res, err
}

// CheckPublish implements providers.PublishChecker: it refuses events
// that would reach a function whose deployment lacks a secret's value,
// before any is stored.
func (a *busAbility) CheckPublish(ctx context.Context, busName string, evs []providers.Event) error {
	db, err := (*driver)(a).store()
	if err != nil {
		return err
	}
	recs, err := readSecrets(ctx, db)
	if err != nil {
		return err
	}
	lacking := false
	for _, r := range recs {
		if len(r.missing()) > 0 {
			lacking = true
		}
	}
	if !lacking {
		return nil
	}
	routes := map[string]func(providers.Event) []string{}
	var reached []string
	for _, ev := range evs {
		b := busName
		if b == "" {
			b = ev.EventBusName
		}
		route, ok := routes[b]
		if !ok {
			if route, err = (*storeAbility)(a).Route(ctx, b); err != nil {
				return err
			}
			routes[b] = route
		}
		for _, fn := range route(ev) {
			if !slices.Contains(reached, fn) {
				reached = append(reached, fn)
			}
		}
	}
	return checkSecrets(ctx, db, reached)
}

// classifyEntry maps the local bus's entry codes (EventBridge's names) to
// portable codes.
func classifyEntry(code string) providers.Code {
	switch code {
	case "":
		return providers.Unknown
	case "InternalFailure", "InternalException", "ServiceUnavailable":
		return providers.Unavailable
	case "ThrottlingException":
		return providers.Throttled
	case "AccessDeniedException", "NotAuthorizedForSourceException":
		return providers.PermissionDenied
	case "ResourceNotFoundException":
		return providers.NotFound
	}
	return providers.InvalidArgument
}

func (a *busAbility) Wait(ctx context.Context) ([]providers.Delivery, error) {
	s, flow, err := (*driver)(a).connect(ctx)
	if err != nil {
		return nil, err
	}
	dels, err := s.Wait(ctx, flow)
	return portableDeliveries(dels), err
}

func portableDeliveries(dels []store.Delivery) []providers.Delivery {
	out := make([]providers.Delivery, len(dels))
	for i, d := range dels {
		out[i] = providers.Delivery{EventID: d.EventID, Function: d.Function, Rule: d.RuleID, Status: d.Status,
			Attempts: d.Attempts, Error: d.Error, DurationMs: d.DurationMs, CorrelationID: d.CorrelationID, Time: d.Time,
			DetailType: d.DetailType, Published: d.Published}
	}
	return out
}

func (a *busAbility) Invoke(ctx context.Context, fn string, payload []byte) (providers.InvokeResult, error) {
	if db, err := (*driver)(a).store(); err == nil {
		if err := checkSecrets(ctx, db, []string{fn}); err != nil {
			return providers.InvokeResult{}, err
		}
	}
	s, _, err := (*driver)(a).connect(ctx)
	if err != nil {
		return providers.InvokeResult{}, err
	}
	return s.Invoke(ctx, fn, payload)
}

// storeAbility reads events, logs, invocations and rules from the store.
type storeAbility driver

func (a *storeAbility) Events(ctx context.Context, q providers.EventQuery) iter.Seq2[providers.StoredEvent, error] {
	return func(yield func(providers.StoredEvent, error) bool) {
		db, err := (*driver)(a).store()
		if err != nil {
			yield(providers.StoredEvent{}, err)
			return
		}
		db.Events(ctx, q)(yield)
	}
}

// EachEnvelopes is the store's envelope scan (providers.EnvelopeReader).
func (a *storeAbility) EachEnvelopes(ctx context.Context, q providers.EventQuery, readers int, fn func(providers.EnvelopePage) error) error {
	db, err := (*driver)(a).store()
	if err != nil {
		return err
	}
	return db.EachEnvelopes(ctx, q, readers, fn)
}

func (a *storeAbility) Logs(ctx context.Context, q providers.LogQuery) (<-chan providers.LogLine, <-chan error) {
	db, err := (*driver)(a).store()
	if err != nil {
		return failedStream(err)
	}
	return db.Logs(ctx, q)
}

// LogsAfter resumes after a token (tail's reconnect).
func (a *storeAbility) LogsAfter(ctx context.Context, q providers.LogQuery, token string) (<-chan providers.LogLine, <-chan error) {
	db, err := (*driver)(a).store()
	if err != nil {
		return failedStream(err)
	}
	return db.LogsAfter(ctx, q, token)
}

// failedStream is a log stream that ends at once with err.
func failedStream(err error) (<-chan providers.LogLine, <-chan error) {
	lines, errc := make(chan providers.LogLine), make(chan error, 1)
	close(lines)
	errc <- err
	return lines, errc
}

func (a *storeAbility) Invocations(ctx context.Context, function string, since, until time.Time) iter.Seq2[providers.InvocationRecord, error] {
	return func(yield func(providers.InvocationRecord, error) bool) {
		db, err := (*driver)(a).store()
		if err != nil {
			yield(providers.InvocationRecord{}, err)
			return
		}
		db.Invocations(ctx, function, since, until)(yield)
	}
}

// Route maps an event to the functions whose rules on busName match it,
// from the deployed rules.
func (a *storeAbility) Route(ctx context.Context, busName string) (func(providers.Event) []string, error) {
	db, err := (*driver)(a).store()
	if err != nil {
		return nil, err
	}
	rules, err := db.Rules(ctx)
	if err != nil {
		return nil, err
	}
	if busName == "" {
		busName = store.DefaultBus
	}
	rs := filter.NewRuleSet()
	fn := map[string]string{}
	for _, r := range rules {
		if r.Bus != busName && !(r.Bus == "" && busName == store.DefaultBus) {
			continue
		}
		pat, err := filter.Parse(r.Pattern)
		if err != nil {
			continue // a rule that no longer parses matches nothing
		}
		rs.Add(r.ID, pat)
		fn[r.ID] = r.Function
	}
	return func(ev providers.Event) []string {
		b, err := providers.MarshalEnvelope(&ev)
		if err != nil {
			return nil
		}
		ids, err := rs.Match(b)
		if err != nil {
			return nil
		}
		var out []string
		for _, id := range ids {
			if name := fn[id]; !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}, nil
}

// stateAbility is the project's KV (replay checkpoints) on a handle of its
// own: checkpoints are written with synchronous=NORMAL (durable in WAL
// order, cheaper than FULL).
type stateAbility driver

func (a *stateAbility) open() (*store.DB, error) {
	a.stateOnce.Do(func() { a.state, a.stateErr = store.OpenReader(a.o.Dir, store.WithSynchronous("NORMAL")) })
	return a.state, a.stateErr
}

func (a *stateAbility) PutKV(ctx context.Context, ns, key string, value []byte) error {
	db, err := a.open()
	if err != nil {
		return err
	}
	return db.PutKV(ctx, ns, key, value)
}

func (a *stateAbility) GetKV(ctx context.Context, ns, key string) ([]byte, bool, error) {
	db, err := a.open()
	if err != nil {
		return nil, false, err
	}
	return db.GetKV(ctx, ns, key)
}

func (a *stateAbility) ListKV(ctx context.Context, ns string) (map[string][]byte, error) {
	db, err := a.open()
	if err != nil {
		return nil, err
	}
	return db.ListKV(ctx, ns)
}

// OpenState opens the project-local state (replay checkpoints) in dir's
// .evcli for a cloud driver, which keeps no state of its own on the
// machine. The caller closes it.
func OpenState(dir string) (providers.KV, func() error, error) {
	sd := filepath.Join(dir, ".evcli")
	if abs, err := filepath.Abs(sd); err == nil {
		sd = abs
	}
	db, err := store.Open(sd, store.WithSynchronous("NORMAL"))
	if err != nil {
		return nil, nil, err
	}
	return projectState{DB: db, dir: sd}, db.Close, nil
}

// projectState is the project-local KV a cloud driver gets: the store's,
// with the same leases as the local provider's (a replay name is a lease
// whatever bus it publishes to).
type projectState struct {
	*store.DB
	dir string
}

func (s projectState) LeaseKV(ctx context.Context, ns, key string) (func(), error) {
	l, err := AcquireLease(s.dir, ns+" "+key)
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}

// drainAbility is what Close waits for: the deliveries of an in-process
// engine (none when the session is a running server's).
type drainAbility driver

func (a *drainAbility) engine() (inProcess, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.session.(inProcess)
	return s, ok
}

func (a *drainAbility) Pending() int {
	if s, ok := a.engine(); ok && !s.e.handedOff.Load() {
		return s.e.Pending()
	}
	return 0
}

func (a *drainAbility) Drain(ctx context.Context) error {
	if s, ok := a.engine(); ok && !s.e.handedOff.Load() {
		return s.e.Drain(ctx)
	}
	return nil
}

func (a *drainAbility) HandOff(ctx context.Context) (providers.HandOff, bool, error) {
	if s, ok := a.engine(); ok {
		return s.HandOff(ctx)
	}
	return providers.HandOff{}, false, nil
}

// serverAbility runs `local serve`.
type serverAbility driver

func (a *serverAbility) Serve(ctx context.Context, so providers.ServeOptions) error {
	o := a.o
	o.Addr, o.AllowRemote = so.Addr, so.AllowRemote
	if so.Logf != nil {
		o.Logf = so.Logf
	}
	o.OnRequest = so.OnRequest
	return Serve(ctx, o, func(e *Engine) {
		if so.Ready == nil {
			return
		}
		fns, _ := e.DB().Functions(ctx)
		so.Ready(providers.ServeInfo{
			Addr:      "http://" + e.Addr(),
			Functions: len(fns),
			Notes: []string{
				fmt.Sprintf("PutEvents:  AWS_ENDPOINT_URL_EVENTBRIDGE=http://%s", e.Addr()),
				fmt.Sprintf("Invoke:     aws lambda invoke --endpoint-url http://%s --function-name NAME out.json", e.Addr()),
			},
		})
	})
}

var (
	_ providers.Deployer       = (*deployAbility)(nil)
	_ providers.EventBus       = (*busAbility)(nil)
	_ providers.PublishChecker = (*busAbility)(nil)
	_ providers.SecretHasher   = (*deployAbility)(nil)
	_ providers.Invoker        = (*busAbility)(nil)
	_ providers.Waiter         = (*busAbility)(nil)
	_ providers.Drainer        = (*drainAbility)(nil)
	_ providers.EventStore     = (*storeAbility)(nil)
	_ providers.EnvelopeReader = (*storeAbility)(nil)
	_ providers.LogSource      = (*storeAbility)(nil)
	_ providers.MetricsSource  = (*storeAbility)(nil)
	_ providers.Router         = (*storeAbility)(nil)
	_ providers.KV             = (*stateAbility)(nil)
	_ providers.Server         = (*serverAbility)(nil)
	_ providers.Prober         = (*Tuner)(nil)
	_ providers.MemorySetter   = (*Tuner)(nil)
)
