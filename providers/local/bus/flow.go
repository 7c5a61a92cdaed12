package bus

import (
	"context"
	"sync"
	"time"

	"github.com/evcli/evcli/providers/local/store"
)

// flowTable tracks, per flow, the deliveries still pending and the final
// outcomes so far, and which in-flight invocation belongs to which flow.
type flowTable struct {
	mu        sync.Mutex
	flows     map[string]*flow
	inv       map[invKey]invBinding
	now       func() time.Time
	ttl       time.Duration
	lastSweep time.Time
}

type flow struct {
	pending    waitCounter
	deliveries []store.Delivery // final outcomes, in the order they were recorded
	touched    time.Time        // creation, or the last final outcome
}

type invKey struct{ fn, requestID string }

type invBinding struct {
	flow  string
	depth int // of the event the invocation handles
	refs  int
	scope *deliveryScope // the delivery the invocation serves (nil for evcli invoke)
}

func (t *flowTable) init(now func() time.Time, ttl time.Duration) {
	t.flows = map[string]*flow{}
	t.inv = map[invKey]invBinding{}
	t.now = now
	t.ttl = ttl
	t.lastSweep = now()
}

// get returns the flow, creating it; t.mu must be held.
func (t *flowTable) get(id string) *flow {
	f := t.flows[id]
	if f == nil {
		f = &flow{touched: t.now()}
		t.flows[id] = f
	}
	return f
}

// add counts one more pending delivery in flow id ("" is no flow).
func (t *flowTable) add(id string) {
	if id == "" {
		return
	}
	t.mu.Lock()
	f := t.get(id)
	t.mu.Unlock()
	f.pending.add(1)
}

// finish records a final outcome of flow id and counts its delivery done.
func (t *flowTable) finish(id string, d store.Delivery) {
	if id == "" {
		return
	}
	t.mu.Lock()
	f := t.get(id)
	f.deliveries = append(f.deliveries, d)
	f.touched = t.now()
	t.mu.Unlock()
	f.pending.add(-1)
}

// sweep forgets flows with nothing pending that were last touched more than
// ttl ago; t.mu must be held.
func (t *flowTable) sweep() {
	now := t.now()
	if now.Sub(t.lastSweep) < t.ttl/10 {
		return
	}
	t.lastSweep = now
	for id, f := range t.flows {
		f.pending.mu.Lock()
		idle := f.pending.n == 0
		f.pending.mu.Unlock()
		if idle && now.Sub(f.touched) > t.ttl {
			delete(t.flows, id)
		}
	}
}

// NewFlow starts a flow and returns its id. Publish it with PublishInFlow,
// then Wait for it.
func (b *Bus) NewFlow() string {
	id := b.o.NewID()
	t := &b.flows
	t.mu.Lock()
	t.sweep()
	t.get(id)
	t.mu.Unlock()
	return id
}

// Wait blocks until no delivery of flowID is pending, then returns the final
// outcomes (ok or failed, one per delivery, retries folded in) of all its
// deliveries: those of the events published in the flow and, transitively,
// of the events that its functions published while handling them. A flow
// with nothing pending returns at once (an unknown or forgotten flow returns
// no deliveries). Deliveries are counted when their event is published, so a
// function that publishes keeps the flow open until what it published is
// delivered too.
func (b *Bus) Wait(ctx context.Context, flowID string) ([]store.Delivery, error) {
	if flowID == "" {
		return nil, nil
	}
	t := &b.flows
	t.mu.Lock()
	f := t.flows[flowID]
	t.mu.Unlock()
	if f == nil {
		return nil, nil
	}
	if err := f.pending.wait(ctx); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]store.Delivery(nil), f.deliveries...), nil
}

// FlowOfInvocation returns the flow of the delivery that is running
// function fn's invocation requestID, while it runs. The PutEvents endpoint
// uses it to put the events a function publishes into its caller's flow.
func (b *Bus) FlowOfInvocation(fn, requestID string) (string, bool) {
	bd, ok := b.invocation(fn, requestID)
	return bd.flow, ok && bd.flow != ""
}

func (b *Bus) invocation(fn, requestID string) (invBinding, bool) {
	t := &b.flows
	t.mu.Lock()
	defer t.mu.Unlock()
	bd, ok := t.inv[invKey{fn, requestID}]
	return bd, ok
}

// BindInvocation makes (fn, requestID) resolve to flowID in
// FlowOfInvocation until release is called. Deliveries bind their own
// invocations through BindRequest; this is for invocations that the bus does
// not start (say, `evcli invoke` joining a flow).
func (b *Bus) BindInvocation(fn, requestID, flowID string) (release func()) {
	return b.bindInvocation(fn, requestID, flowID, 0, nil)
}

func (b *Bus) bindInvocation(fn, requestID, flowID string, depth int, sc *deliveryScope) (release func()) {
	k := invKey{fn, requestID}
	t := &b.flows
	t.mu.Lock()
	bd := t.inv[k]
	bd.flow = flowID
	bd.depth = depth
	bd.scope = sc
	bd.refs++
	t.inv[k] = bd
	t.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			bd := t.inv[k]
			if bd.refs--; bd.refs <= 0 {
				delete(t.inv, k)
			} else {
				t.inv[k] = bd
			}
		})
	}
}

type flowCtxKey struct{}
type scopeCtxKey struct{}
type fromFunctionKey struct{}
type depthKey struct{}

// publishDepth is the depth of events published with ctx: one more than the
// event whose delivery publishes them, 0 from outside.
func publishDepth(ctx context.Context) int {
	if sc, _ := ctx.Value(scopeCtxKey{}).(*deliveryScope); sc != nil {
		return sc.depth + 1
	}
	d, _ := ctx.Value(depthKey{}).(int)
	return d
}

// fromFunction reports whether ctx is a publish made by a function: within
// a delivery, or through the PutEvents endpoint by a known caller.
func fromFunction(ctx context.Context) bool {
	if ctx.Value(scopeCtxKey{}) != nil {
		return true
	}
	v, _ := ctx.Value(fromFunctionKey{}).(bool)
	return v
}

// WithFlow returns a context that carries flowID: Publish with it joins the
// flow instead of starting one.
func WithFlow(ctx context.Context, flowID string) context.Context {
	return context.WithValue(ctx, flowCtxKey{}, flowID)
}

// FlowFromContext returns the flow ctx carries. The context the bus passes
// to Invoker.Invoke carries the delivery's flow.
func FlowFromContext(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(flowCtxKey{}).(string)
	return id, ok && id != ""
}

// deliveryScope is what the context of one delivery attempt carries so that
// the invoker can tell the bus the request id it gave the invocation.
type deliveryScope struct {
	b        *Bus
	flow, fn string
	corr     string // the delivered event's correlation id
	depth    int
	mu       sync.Mutex
	releases []func()
	done     bool
	// published are the detail-types of the events the invocation
	// published through the PutEvents endpoint, in order.
	published []string
}

// addPublished records events the delivery's invocation published.
func (sc *deliveryScope) addPublished(detailTypes []string) {
	sc.mu.Lock()
	sc.published = append(sc.published, detailTypes...)
	sc.mu.Unlock()
}

// Published returns the detail-types the invocation published.
func (sc *deliveryScope) Published() []string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return append([]string(nil), sc.published...)
}

func (b *Bus) scope(ctx context.Context, flowID, fn, correlationID string, depth int) (context.Context, *deliveryScope) {
	sc := &deliveryScope{b: b, flow: flowID, fn: fn, corr: correlationID, depth: depth}
	if flowID != "" {
		ctx = WithFlow(ctx, flowID)
	}
	return context.WithValue(ctx, scopeCtxKey{}, sc), sc
}

func (sc *deliveryScope) release() {
	sc.mu.Lock()
	rs := sc.releases
	sc.releases, sc.done = nil, true
	sc.mu.Unlock()
	for _, r := range rs {
		r()
	}
}

// BindRequest tells the bus that the delivery whose context is ctx is being
// served by the invocation requestID, so that events the function publishes
// through the PutEvents endpoint join the delivery's flow. The binding lasts
// until Invoke returns. An Invoker calls it as soon as the runtime assigns
// the request id (before the handler runs). It returns false when ctx is not
// a delivery's context, or the attempt has already returned.
func BindRequest(ctx context.Context, requestID string) bool {
	sc, _ := ctx.Value(scopeCtxKey{}).(*deliveryScope)
	if sc == nil {
		return false
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.done {
		return false
	}
	sc.releases = append(sc.releases, sc.b.bindInvocation(sc.fn, requestID, sc.flow, sc.depth, sc))
	return true
}

// CorrelationFromContext returns the correlation id of the event that the
// delivery whose context is ctx carries ("" when it has none, or ctx is not
// a delivery's): the Invoker tags the invocation's log lines with it.
func CorrelationFromContext(ctx context.Context) string {
	if sc, _ := ctx.Value(scopeCtxKey{}).(*deliveryScope); sc != nil {
		return sc.corr
	}
	return ""
}

// FunctionFromContext returns the function that the delivery whose context is
// ctx targets.
func FunctionFromContext(ctx context.Context) (string, bool) {
	sc, _ := ctx.Value(scopeCtxKey{}).(*deliveryScope)
	if sc == nil {
		return "", false
	}
	return sc.fn, true
}
