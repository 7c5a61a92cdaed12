package bus

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evcli/evcli/internal/jsonvalid"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/store"
)

// InvokeOutcome is what the bus needs to know of one asynchronous invocation.
// FunctionError is "" on success, otherwise Lambda's value ("Unhandled").
type InvokeOutcome struct {
	FunctionError string
	ErrorType     string
	ErrorMessage  string
	DurationMs    float64
}

// FinalError wraps an Invoker error that retrying cannot cure (the
// function's deployment lacks a secret's value): the delivery fails at
// its first attempt.
type FinalError struct{ Err error }

func (e *FinalError) Error() string { return e.Err.Error() }
func (e *FinalError) Unwrap() error { return e.Err }

// Invoker runs a function with an event envelope as its payload. ctx carries
// the delivery's flow (FlowFromContext) and lets the implementation bind the
// invocation's request id to it (BindRequest). An error means the function
// could not be run at all; a handler failure is an outcome with FunctionError.
// Both are retried, except a *FinalError.
type Invoker interface {
	Invoke(ctx context.Context, fn string, payload []byte) (InvokeOutcome, error)
}

// Matcher returns the ids of the rules whose pattern matches an event (the
// envelope JSON).
type Matcher interface {
	Match(event []byte) ([]string, error)
}

// PublishBatchEntries and PublishBatchBytes size the batches a publisher
// that chooses them (replay) should give Publish. Publish itself takes any
// number of entries (the PutEvents endpoint keeps EventBridge's 10) and
// stores each call in one transaction: a large call shares the commit, the
// fsync and the index pages it writes among its entries, so it costs less
// per event. A replay's batch touches index pages in many places (its
// aggregates, its ids), and a commit writes each of them back once however
// many of the batch's rows it holds: 4,000 entries per call cost about 10%
// less CPU per event than 1,000 (BenchmarkReplayLocal in cmd, with the
// random replay ids of the time), and hold a few MB.
const (
	PublishBatchEntries = 4000
	PublishBatchBytes   = 4 << 20
)

// Options configure a Bus. Store and Invoker are required.
type Options struct {
	Store   *store.DB
	Invoker Invoker
	// NewMatcher compiles the rules of one bus; nil means FilterMatcher.
	NewMatcher func(rules []store.Rule) (Matcher, error)
	// Retries after a failed attempt: 0 means Lambda's 2; negative means none.
	Retries int
	// Backoff is the wait before retry number attempt (1-based). nil means
	// 100ms, 200ms, ... (Lambda waits about 1 and then 2 minutes).
	Backoff func(attempt int) time.Duration
	// Sleep waits d or until ctx is done; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID makes event and flow ids; nil means random UUIDs.
	NewID func() string
	// Region and Account fill the envelope; defaults us-east-1 and 000000000000.
	Region, Account string
	// Concurrency bounds the deliveries in progress per function when the
	// function's record sets none (default 10, Lambda's default here).
	Concurrency int
	// FlowTTL is how long a finished flow stays known to Wait (default 10 min).
	FlowTTL time.Duration
	// MaxPending bounds the deliveries scheduled and not yet finished
	// (default 10,000): beyond it, Publish from outside the bus's functions
	// (send, replay) waits, so memory stays flat however fast they publish.
	// Publishes by functions (through a delivery's context or the PutEvents
	// endpoint with a known caller) never wait, so a chain cannot deadlock.
	MaxPending int
	// MaxDepth stops runaway chains: an event published by a function while
	// handling an event that is itself MaxDepth publishes deep is stored but
	// not delivered, and each target it matched gets a failed delivery
	// ("recursive chain stopped"). 0 means 16 (Lambda's recursive loop
	// detection stops after about 16 invocations); negative means no limit.
	MaxDepth int
	// Logf reports problems that have no caller to return to (a delivery
	// outcome the store refused). nil discards them.
	Logf func(format string, args ...any)
}

// Bus is the local event bus: Publish stores events durably, then delivers
// them asynchronously to the functions whose rules match. See the package doc.
type Bus struct {
	o      Options
	ctx    context.Context // deliveries run under it; Close cancels it
	cancel context.CancelFunc

	routes atomic.Pointer[routing] // replaced whole by Reload

	disp    dispatcher
	flows   flowTable
	rec     recorder
	workers sync.WaitGroup // delivery workers and retry timers

	abandoned atomic.Int64 // deliveries Close cut short (not recorded)
	leftMu    sync.Mutex
	left      []Handed // which they were (Left)

	closeMu sync.RWMutex
	closed  bool
}

// routing is the compiled state of the deployed rules.
type routing struct {
	buses       map[string]Matcher // bus name -> matcher of its rules
	rules       map[string]store.Rule
	concurrency map[string]int // function -> limit
}

// New makes a bus and loads the deployed rules from the store.
func New(o Options) (*Bus, error) {
	if o.Store == nil || o.Invoker == nil {
		return nil, errors.New("bus: Options.Store and Options.Invoker are required")
	}
	if o.NewMatcher == nil {
		o.NewMatcher = FilterMatcher
	}
	switch {
	case o.Retries == 0:
		o.Retries = 2
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Backoff == nil {
		o.Backoff = func(attempt int) time.Duration { return time.Duration(attempt) * 100 * time.Millisecond }
	}
	if o.Sleep == nil {
		o.Sleep = providers.Sleep
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = NewUUID
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Account == "" {
		o.Account = "000000000000"
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 10
	}
	switch {
	case o.MaxDepth == 0:
		o.MaxDepth = 16
	case o.MaxDepth < 0:
		o.MaxDepth = int(^uint(0) >> 1)
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 10000
	}
	if o.FlowTTL <= 0 {
		o.FlowTTL = 10 * time.Minute
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	b := &Bus{o: o}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.disp.init()
	b.flows.init(o.Now, o.FlowTTL)
	b.rec.init(b)
	if err := b.Reload(context.Background()); err != nil {
		b.cancel()
		b.rec.stop()
		return nil, err
	}
	return b, nil
}

// Reload re-reads the rules and functions from the store (after a deploy).
// On error the rules in force are kept.
func (b *Bus) Reload(ctx context.Context) error {
	rules, err := b.o.Store.Rules(ctx)
	if err != nil {
		return err
	}
	fns, err := b.o.Store.Functions(ctx)
	if err != nil {
		return err
	}
	r := &routing{buses: map[string]Matcher{}, rules: map[string]store.Rule{}, concurrency: map[string]int{}}
	byBus := map[string][]store.Rule{}
	for _, rule := range rules {
		if rule.Bus == "" {
			rule.Bus = store.DefaultBus
		}
		byBus[rule.Bus] = append(byBus[rule.Bus], rule)
		r.rules[rule.ID] = rule
	}
	for name, rs := range byBus {
		m, err := b.o.NewMatcher(rs)
		if err != nil {
			return fmt.Errorf("bus %s: %w", name, err)
		}
		r.buses[name] = m
	}
	for _, f := range fns {
		if f.Concurrency > 0 {
			r.concurrency[f.Name] = f.Concurrency
		}
	}
	b.routes.Store(r)
	return nil
}

// Publish puts events on busName (an entry's own EventBusName wins) in the
// flow that ctx carries (WithFlow); without one, its deliveries belong to no
// flow and are not kept for Wait (use NewFlow and PublishInFlow to wait).
// See PublishInFlow.
func (b *Bus) Publish(ctx context.Context, busName string, events []providers.Event) ([]providers.PublishResult, error) {
	flow, _ := FlowFromContext(ctx)
	return b.PublishInFlow(ctx, flow, busName, events)
}

// PublishInFlow validates each event as PutEvents does (a failed entry gets
// an ErrorCode and ErrorMessage and the others go on), fills in the id, time
// (now, to the millisecond), region, account and version it lacks, appends
// the valid ones to the store in one durable transaction, and only then
// schedules their deliveries, which join flowID ("" for none). An event whose
// id is already stored is not stored again but is delivered again, as a
// re-sent entry would be. When MaxPending deliveries are pending it first
// waits for room, unless ctx comes from a function. The error is for the
// call as a whole (the store failed, or ctx ended while waiting); then
// nothing was published.
func (b *Bus) PublishInFlow(ctx context.Context, flowID, busName string, events []providers.Event) ([]providers.PublishResult, error) {
	results := make([]providers.PublishResult, len(events))
	valid := make([]providers.StoredEvent, 0, len(events))
	index := make([]int, 0, len(events))
	now := b.o.Now().UTC().Truncate(time.Millisecond)
	for i, ev := range events {
		if code, msg := b.validate(&ev, busName, now); code != "" {
			results[i] = providers.PublishResult{ErrorCode: code, ErrorMsg: msg}
			continue
		}
		valid = append(valid, providers.StoredEvent{Event: ev})
		index = append(index, i)
	}
	if len(valid) == 0 {
		return results, nil
	}
	if !fromFunction(ctx) {
		if err := b.disp.pending.waitBelow(ctx, b.o.MaxPending); err != nil {
			return nil, err
		}
	}
	b.closeMu.RLock()
	defer b.closeMu.RUnlock()
	if b.closed {
		return nil, ErrClosed
	}
	// Match before storing, so that the rules each event is routed to are
	// stored with it (in the same transaction): a later process finishes
	// the deliveries a killed one left to those rules, and only those.
	rt := b.routes.Load()
	stored, payloads, routed, err := b.o.Store.AppendRouted(ctx, valid, func(i int, payload []byte) []string {
		return b.match(rt, valid[i].ID, valid[i].EventBusName, payload)
	})
	if err != nil {
		return nil, fmt.Errorf("bus: store events: %w", err)
	}
	for k, se := range stored {
		results[index[k]] = providers.PublishResult{EventID: se.ID}
	}
	b.route(rt, flowID, publishDepth(ctx), stored, payloads, routed)
	return results, nil
}

// match returns the ids of rt's rules on busName that the event id (its
// envelope payload) matches.
func (b *Bus) match(rt *routing, id, busName string, payload []byte) []string {
	m := rt.buses[busName]
	if m == nil {
		return nil
	}
	ids, err := m.Match(payload)
	if err != nil {
		b.o.Logf("bus: event %s: match: %v", id, err)
		return nil
	}
	out := ids[:0:0]
	for _, rid := range ids {
		if _, ok := rt.rules[rid]; !ok {
			b.o.Logf("bus: event %s: matcher returned unknown rule %q", id, rid)
			continue
		}
		out = append(out, rid)
	}
	if len(out) == len(ids) {
		return ids
	}
	return out
}

// validate fills in ev's missing envelope fields and checks it, returning a
// PutEvents error code and message when it is not acceptable.
func (b *Bus) validate(ev *providers.Event, busName string, now time.Time) (code, msg string) {
	if ev.EventBusName == "" {
		ev.EventBusName = busName
	}
	ev.EventBusName = BusNameOf(ev.EventBusName)
	if ev.Source == "" {
		return "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	}
	if ev.DetailType == "" {
		return "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	}
	d := bytes.TrimSpace(ev.Detail)
	if len(d) == 0 {
		return "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	}
	if d[0] != '{' || !jsonvalid.Valid(d) {
		return "MalformedDetail", "Detail is malformed: it must be a JSON object."
	}
	if n := providers.EntrySize(ev); n > providers.MaxEntryBytes {
		return "InvalidArgument", fmt.Sprintf("Event size %d bytes exceeds the limit of %d bytes (256 KB).", n, providers.MaxEntryBytes)
	}
	if y := ev.Time.Year(); !ev.Time.IsZero() && (y < 1 || y > 9999) {
		return "InvalidArgument", fmt.Sprintf("Parameter Time is not valid. Reason: year %d is outside 1 .. 9999.", y)
	}
	if ev.ID == "" {
		ev.ID = b.o.NewID()
	}
	if ev.Time.IsZero() {
		ev.Time = now
	}
	if ev.Region == "" {
		ev.Region = b.o.Region
	}
	if ev.Account == "" {
		ev.Account = b.o.Account
	}
	if ev.Version == "" {
		ev.Version = "0"
	}
	if ev.Resources == nil {
		ev.Resources = []string{}
	}
	return "", ""
}

// BusNameOf returns the name of a bus given by name or ARN
// (arn:aws:events:REGION:ACCOUNT:event-bus/NAME); "" is "default".
func BusNameOf(s string) string {
	if s == "" {
		return store.DefaultBus
	}
	if strings.HasPrefix(s, "arn:") {
		if i := strings.LastIndex(s, "event-bus/"); i >= 0 {
			return s[i+len("event-bus/"):]
		}
	}
	return s
}

// route schedules one delivery of each stored event (payloads: their
// envelopes as stored) per rule of rt it was routed to (routed, from
// match), counting them in the flow before returning.
func (b *Bus) route(rt *routing, flowID string, depth int, evs []providers.StoredEvent, payloads [][]byte, routed [][]string) {
	for i, se := range evs {
		for _, id := range routed[i] {
			b.schedule(rt, flowID, depth, se, rt.rules[id], payloads[i])
		}
	}
}

// schedule counts one delivery of se to rule in flowID and queues it (or,
// past MaxDepth, records it as failed).
func (b *Bus) schedule(rt *routing, flowID string, depth int, se providers.StoredEvent, rule store.Rule, payload []byte) {
	limit := rt.concurrency[rule.Function]
	if limit == 0 {
		limit = b.o.Concurrency
	}
	b.flows.add(flowID)
	b.disp.pending.add(1)
	if depth >= b.o.MaxDepth {
		b.rec.send(flowID, store.Delivery{
			EventID: se.ID, EventSeq: se.Seq, Function: rule.Function, RuleID: rule.ID, Status: store.DeliveryFailed, DetailType: se.DetailType,
			CorrelationID: se.CorrelationID, Time: b.o.Now(),
			Error: fmt.Sprintf("recursive chain stopped: the event was published %d functions deep (Options.MaxDepth); check for a rule that matches what its own function publishes", depth),
		}, true)
		return
	}
	b.enqueue(&delivery{
		flow: flowID, eventID: se.ID, eventSeq: se.Seq, correlationID: se.CorrelationID, detailType: se.DetailType,
		fn: rule.Function, ruleID: rule.ID, payload: payload, limit: limit, depth: depth,
	})
}

// NewUUID returns a version 7 UUID: a millisecond timestamp then random
// bits. It looks like any other UUID to consumers, and since ids made later
// sort later, the store's id indexes grow at their end instead of splitting
// pages all over (several times fewer pages written per event).
func NewUUID() string {
	var u [16]byte
	rand.Read(u[6:])
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		u[i] = byte(ms)
		ms >>= 8
	}
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

var _ providers.EventBus = (*Bus)(nil)
