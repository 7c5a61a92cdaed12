package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// Provider is one opened provider: the abilities that cloud has, each a
// small interface. An ability the provider lacks is nil, and Missing says
// why in one sentence, so a command learns it before any work starts
// (Require). Commands never ask which provider they hold.
//
// A driver fills a Provider in its Open. Abilities may connect lazily (an
// in-process local engine starts on the first publish); Close releases
// whatever was opened, letting in-flight work finish first.
type Provider struct {
	// Name is the provider's registry name ("local", "aws"): for messages
	// and records (replay list), never for branching.
	Name string
	// Private: the provider runs on this machine only, so nothing it does
	// reaches anyone else's consumers (no confirmation before a replay).
	Private bool

	Deployer Deployer
	// Shared plans and applies project-level resources (bus, table) before
	// the functions; nil when the provider has none.
	Shared SharedDeployer
	// Bus publishes events; the portable PublishAll and PublishWithRetry
	// batch within BusLimits and retry what the driver classifies as
	// transient.
	Bus       EventBus
	BusLimits BatchLimits
	Store     EventStore
	Logs      LogSource
	Metrics   MetricsSource
	// Totals counts invocations, errors and throttles cheaply (optional).
	Totals     TotalsSource
	Invoker    Invoker
	Rollbacker Rollbacker
	Prober     Prober
	Memory     MemorySetter
	// Prices is what the cloud charges for a function's duration and
	// requests (tune memory's costs); nil is Lambda's table. When it also
	// implements Compute, tune memory takes the cloud's memory sizes and
	// the CPU each gets from it; otherwise the cloud is modelled as Lambda.
	Prices Pricer
	// Waiter waits for the deliveries of what this Provider published
	// (send --wait).
	Waiter Waiter
	// Router says which functions would receive an event (replay --dry-run).
	Router Router
	// Server runs the provider in the foreground (local serve).
	Server Server
	// State is project-local durable key-value state (replay checkpoints).
	State KV
	// Workflows runs the project's orchestrated workflows (workflow
	// start, executions, describe, redrive).
	Workflows Workflows
	// Drainer is the work Close waits for (the deliveries an in-process
	// local engine runs), so that a command can show it while it waits
	// and hand it to a server that outlives the command; nil when Close
	// waits for nothing worth showing.
	Drainer Drainer
	// Exporter writes the project as a template for a deployment pipeline
	// (evcli export): the same desired state Deployer applies.
	Exporter Exporter

	// Missing says, by ability, why it is absent (the sentence after
	// "X is not available on P: ").
	Missing map[Ability]string

	mu      sync.Mutex
	closers []func(context.Context) error
	closed  bool
}

// Ability names one ability of a Provider, as users know it.
type Ability string

const (
	AbilityDeploy   Ability = "deploy"
	AbilityPublish  Ability = "publishing events"
	AbilityStore    Ability = "the event store"
	AbilityLogs     Ability = "tail"
	AbilityMetrics  Ability = "tune memory"
	AbilityInvoke   Ability = "invoke"
	AbilityRollback Ability = "rollback"
	AbilityProbe    Ability = "tune memory --probe"
	AbilityMemory   Ability = "tune memory --apply"
	AbilityWait     Ability = "--wait"
	AbilityRoute    Ability = "routing"
	AbilityServe    Ability = "local serve"
	AbilityState    Ability = "project state"
	AbilityWorkflow Ability = "workflows"
	AbilityExport   Ability = "export"
)

// Abilities lists every ability, in the order Has reports them.
var Abilities = []Ability{AbilityDeploy, AbilityPublish, AbilityStore, AbilityLogs, AbilityMetrics,
	AbilityInvoke, AbilityRollback, AbilityProbe, AbilityMemory, AbilityWait, AbilityRoute, AbilityServe, AbilityState, AbilityWorkflow, AbilityExport}

// Has reports whether p has ability a.
func (p *Provider) Has(a Ability) bool {
	switch a {
	case AbilityDeploy:
		return p.Deployer != nil
	case AbilityPublish:
		return p.Bus != nil
	case AbilityStore:
		return p.Store != nil
	case AbilityLogs:
		return p.Logs != nil
	case AbilityMetrics:
		return p.Metrics != nil
	case AbilityInvoke:
		return p.Invoker != nil
	case AbilityRollback:
		return p.Rollbacker != nil
	case AbilityProbe:
		return p.Prober != nil
	case AbilityMemory:
		return p.Memory != nil
	case AbilityWait:
		return p.Waiter != nil
	case AbilityRoute:
		return p.Router != nil
	case AbilityServe:
		return p.Server != nil
	case AbilityState:
		return p.State != nil
	case AbilityWorkflow:
		return p.Workflows != nil
	case AbilityExport:
		return p.Exporter != nil
	}
	return false
}

// Require returns an Unsupported error naming the first of abilities that p
// lacks, with the driver's reason as the hint; nil when it has them all.
func (p *Provider) Require(abilities ...Ability) error {
	for _, a := range abilities {
		if p.Has(a) {
			continue
		}
		err := &Error{Code: Unsupported, Err: fmt.Errorf("%s is not available on %s", a, p.Name)}
		if why := p.Missing[a]; why != "" {
			err.Err = fmt.Errorf("%s is not available on %s: %s", a, p.Name, why)
		}
		return err
	}
	return nil
}

// OnClose registers fn to run at Close, last registered first.
func (p *Provider) OnClose(fn func(context.Context) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closers = append(p.closers, fn)
}

// Close releases what the provider opened (last opened first), letting
// in-flight work finish unless ctx ends first. It is safe to call twice.
func (p *Provider) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	fns := slices.Clone(p.closers)
	p.mu.Unlock()
	var errs []error
	for i := len(fns) - 1; i >= 0; i-- {
		if err := fns[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// OpenOptions are the plain values every driver's Open takes.
type OpenOptions struct {
	// Project is the project's name: physical names and tags carry it.
	Project string
	// Dir is the project's directory; local state lives in Dir/.evcli.
	Dir string
	// Region (or location) and Profile (credentials profile) where the
	// cloud has them.
	Region, Profile string
	// CloudProject is the cloud's own project or account to deploy into
	// where it has one (a Google Cloud project id); "" leaves it to the
	// cloud's standard variables and credentials.
	CloudProject string
	// Subscription (Azure's account: --subscription, evcli.yaml's
	// azure.subscription), ResourceGroup (--resource-group,
	// azure.resourceGroup) and Location (azure.location; Region when "")
	// say where an Azure driver deploys; "" leaves each to the cloud's
	// standard variables.
	Subscription, ResourceGroup, Location string
	// InFunctionGuard opts into the in-function guard: a pattern the
	// cloud's filters cannot enforce whole is deployed with its rules in
	// the function's environment, and evcli's entrypoint applies the whole
	// pattern before the handler runs (evcli.yaml gcp.guard: in-function).
	// Without it such a pattern is refused at deploy (exit 2).
	InFunctionGuard bool
	// Endpoint overrides every service endpoint (emulators, LocalStack);
	// drivers also honour their cloud's standard variables.
	Endpoint string
	// Functions are the names of the project's functions (as in
	// evcli.yaml): a cloud driver reads only these (and what carries the
	// project's prefix), and checks their physical names are free.
	Functions []string
	// Bus is the project's event bus name ("" = the provider's default).
	Bus string
	// Store describes the project's event store.
	Store StoreSpec
	// Workflows are the project's state machines, for a driver that
	// deploys them (their definitions name the project's functions).
	Workflows []WorkflowSpec
	// Deploy settings some clouds use; a driver that cannot honour a set
	// value refuses it at Open.
	ArtifactBucket   string
	LogRetentionDays int
	// Offline asks for the abilities that need neither credentials nor
	// the network (Exporter): a cloud driver then checks no credentials
	// and makes no call; the others it leaves out, saying why.
	Offline bool

	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Getenv func(string) string
	// Debug receives debug lines (never credentials or secret values); nil
	// discards them. Warn receives warnings for the user.
	Debug, Warn io.Writer
}

// StoreSpec is the project's event-store configuration.
type StoreSpec struct {
	// Type is "local", "dynamodb", ... ("" = the provider's default store).
	Type  string
	Table string
	Keys  StoreKeys
	// TTLDays is how long stored events are kept (0: for ever).
	TTLDays int
}

// StoreKeys name the attributes of an event-store item.
type StoreKeys struct {
	Aggregate, Sort, ID, Type, Data, Version, TTL string
}

// Debugf writes one debug line when o.Debug is set.
func (o OpenOptions) Debugf(format string, args ...any) {
	if o.Debug != nil {
		fmt.Fprintf(o.Debug, "debug: "+format+"\n", args...)
	}
}

// Warnf writes one warning when o.Warn is set.
func (o OpenOptions) Warnf(format string, args ...any) {
	if o.Warn != nil {
		fmt.Fprintf(o.Warn, "warning: "+format+"\n", args...)
	}
}

// Opener opens one provider; each driver's Open is one.
type Opener func(ctx context.Context, o OpenOptions) (*Provider, error)

// Delivery is the outcome of delivering one event to one function.
type Delivery struct {
	EventID       string    `json:"eventId"`
	DetailType    string    `json:"detailType,omitempty"`
	Function      string    `json:"function"`
	Rule          string    `json:"rule,omitempty"`
	Status        string    `json:"status"` // "ok", "failed", ...
	Attempts      int       `json:"attempts"`
	Error         string    `json:"error,omitempty"`
	DurationMs    float64   `json:"durationMs"`
	CorrelationID string    `json:"correlationId,omitempty"`
	Time          time.Time `json:"time"`
	// Published are the detail-types of the events the handler published
	// while it handled this one (what it caused), where the provider knows.
	Published []string `json:"published,omitempty"`
}

// Waiter waits for the deliveries of the events published through the
// Provider's Bus, including those of events the functions published in turn.
type Waiter interface {
	Wait(ctx context.Context) ([]Delivery, error)
}

// Drainer is the work a Provider's Close would wait for: deliveries that
// the command's events caused and that run in this process.
type Drainer interface {
	// Pending is how many deliveries Close would still wait for.
	Pending() int
	// Drain waits until nothing is pending or ctx ends.
	Drain(ctx context.Context) error
	// HandOff gives what is pending to a server of the project that
	// outlives this process (a running `evcli local serve`), when one
	// runs. ok is false when there is none (or not yet: ask again); then
	// nothing changed. After a hand-off (ok, even with an error) Close
	// waits for nothing, and nothing acknowledged is lost: what the server
	// did not take is finished by the next process that delivers.
	HandOff(ctx context.Context) (h HandOff, ok bool, err error)
}

// HandOff says what Drainer.HandOff gave away and to whom.
type HandOff struct {
	Deliveries int
	To         string // "evcli local serve (pid 4242 at 127.0.0.1:4010)"
}

// Router says which functions' rules on bus match an event.
type Router interface {
	Route(ctx context.Context, bus string) (func(Event) []string, error)
}

// Server runs the provider's endpoints in the foreground until ctx ends.
type Server interface {
	Serve(ctx context.Context, o ServeOptions) error
}

// ServeOptions configure Server.Serve.
type ServeOptions struct {
	// Addr is where the endpoints listen.
	Addr string
	// AllowRemote permits an address other than loopback.
	AllowRemote bool
	// Logf reports what happens while serving (nil: the driver's default).
	Logf func(format string, args ...any)
	// Ready is called once the endpoints listen.
	Ready func(ServeInfo)
	// OnRequest, when set, is told of each request the endpoints answered
	// (health checks aside), from any goroutine.
	OnRequest func(ServedRequest)
}

// ServedRequest is one request a running Server answered.
type ServedRequest struct {
	Time    time.Time
	Op      string // "PutEvents", "Invoke payment", "send", "reload"...
	Status  int    // HTTP status
	Elapsed time.Duration
}

// ServeInfo describes running endpoints.
type ServeInfo struct {
	Addr      string   // base URL
	Functions int      // functions deployed
	Notes     []string // how to point tools at the endpoints
}

// Prober invokes a function at a memory size and returns what it measured.
type Prober interface {
	Probe(ctx context.Context, function string, memoryMB int, payload []byte, runs int) ([]InvocationRecord, error)
}

// MemorySetter sets a deployed function's memory and returns once the
// change is in effect (on clouds with versions: published and live).
type MemorySetter interface {
	SetMemory(ctx context.Context, function string, memoryMB int) error
}

// LiveMemorySetter is a MemorySetter that also says where the new memory
// went live (AWS: "published version 4, live 3 -> 4").
type LiveMemorySetter interface {
	SetMemoryLive(ctx context.Context, function string, memoryMB int) (string, error)
}

// TotalsSource counts a function's invocations, errors and throttles.
type TotalsSource interface {
	InvocationTotals(ctx context.Context, function string, since, until time.Time) (invocations, errors, throttles int64, err error)
}

// KV is a durable key-value store by namespace.
type KV interface {
	PutKV(ctx context.Context, ns, key string, value []byte) error
	GetKV(ctx context.Context, ns, key string) ([]byte, bool, error)
	ListKV(ctx context.Context, ns string) (map[string][]byte, error)
}

// Pricer prices a function's compute where a provider runs it, for tune.
type Pricer interface {
	// Price is the price of one GB-second and one request for the
	// project's region and the function's architecture ("" = x86_64),
	// with evcli.yaml's prices: (override, nil when absent) applied. note
	// is non-empty when the price is a fallback the user should know of;
	// err is a value the table cannot price (an unknown architecture).
	Price(region, arch string, override *PriceOverride) (p Price, note string, err error)
}

// Compute is what a Pricer also says when the cloud's compute differs
// from Lambda's: the memory sizes a function can have, the CPU each gets
// and how durations are billed (tune memory's candidates, duration model
// and costs).
type Compute interface {
	Pricer
	ComputeModel() ComputeModel
}

// ComputeModel is how a cloud runs a function at a memory size.
type ComputeModel struct {
	// Name says which compute it is, for notes ("Cloud Run functions (2nd
	// gen)").
	Name string
	// Sizes are the memory sizes (MB) tune memory considers, ascending.
	Sizes []int
	// AnySize is true when any whole MB from Sizes[0] to the last size
	// may be set (Lambda); otherwise only Sizes can.
	AnySize bool
	// ProbeSizes are the sizes tune memory --probe tries by default.
	ProbeSizes []int
	// BillingIncrementMs is the step a duration is rounded up to when
	// billed (1 for Lambda, 100 for Cloud Run); 0 means 1.
	BillingIncrementMs float64
	// Instance is what a function set to memoryMB runs on: the memory
	// billed (Flex Consumption bills the instance size that holds it) and
	// the vCPUs it gets.
	Instance func(memoryMB int) (billedMB int, vcpus float64)
}

// Price is one region's price of duration and requests.
type Price struct {
	// GBSecondUSD is the price of one GB-second of duration (1 GB = 1,024 MB).
	GBSecondUSD float64
	// VCPUSecondUSD is the price of one vCPU-second where the cloud bills
	// CPU apart from memory (Cloud Run); 0 where memory's price covers it.
	VCPUSecondUSD float64
	// RequestUSD is the price of one request.
	RequestUSD float64
}

// PriceOverride is evcli.yaml's prices: section; zero fields keep the
// table's price.
type PriceOverride struct {
	GBSecondX86      float64
	GBSecondArm      float64
	PerMillionReqUSD float64
}
