package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	logging "cloud.google.com/go/logging/apiv2"
	"cloud.google.com/go/logging/apiv2/loggingpb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/evcli/evcli/providers"
)

// The log source reads what Cloud Run writes for the functions
// (resource.type cloud_run_revision, service_name the function's id):
// entries.list (ListLogEntries) from Since, then TailLogEntries while
// following. Cloud Run's request log of each invocation becomes a
// Lambda-style REPORT line (request id, duration, memory size, status), so
// that tail shows and groups cloud invocations as it does local and AWS
// ones. A line's request id is the request's trace id (Cloud Run gives every
// line of a request the same trace), else the execution_id label; its
// token is the entry's insertId.
//
// ListLogEntries allows 60 calls a minute per project: every log source of
// the process shares one budget (listBudget), and a ResourceExhausted
// answer backs off and asks again rather than failing the tail.

// listBudget paces ListLogEntries: a burst of 10, then one a second.
type listBudget struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

var sharedListBudget = &listBudget{tokens: 10}

// wait takes one call from the budget, sleeping as long as it takes.
func (b *listBudget) wait(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	for {
		b.mu.Lock()
		t := now()
		if !b.last.IsZero() {
			b.tokens = min(10, b.tokens+t.Sub(b.last).Seconds())
		}
		b.last = t
		if b.tokens >= 1 {
			b.tokens--
			b.mu.Unlock()
			return nil
		}
		need := time.Duration((1 - b.tokens) * float64(time.Second))
		b.mu.Unlock()
		if err := sleep(ctx, need); err != nil {
			return err
		}
	}
}

type logSource struct {
	client *logging.Client
	d      *deployer
	now    func() time.Time
	budget *listBudget
}

func newLogSource(ctx context.Context, c *config, d *deployer, o providers.OpenOptions) (*logSource, error) {
	client, err := logging.NewClient(ctx, c.clientOptions(c.logging)...)
	if err != nil {
		return nil, classify("logging", err)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &logSource{client: client, d: d, now: now, budget: sharedListBudget}, nil
}

func (l *logSource) close() error { return l.client.Close() }

// target is one function as the log entries name it.
type target struct {
	name     string // evcli's
	memoryMB int
}

// targets maps the functions' ids (Cloud Run service names) to them: the
// query's functions, or every function of the project.
func (l *logSource) targets(ctx context.Context, q providers.LogQuery) (map[string]target, error) {
	var fds []providers.FunctionDeployment
	var err error
	if len(q.Functions) > 0 {
		fds, err = l.d.DeployedFunctions(ctx, q.Functions)
	} else {
		fds, err = l.d.Deployed(ctx)
	}
	if err != nil {
		return nil, err
	}
	out := map[string]target{}
	for _, fd := range fds {
		out[FunctionID(l.d.project, fd.Name)] = target{name: fd.Name, memoryMB: fd.MemoryMB}
	}
	for _, n := range q.Functions {
		if _, ok := out[FunctionID(l.d.project, n)]; !ok {
			out[FunctionID(l.d.project, n)] = target{name: n}
		}
	}
	return out, nil
}

func (l *logSource) filter(ids map[string]target, since time.Time) string {
	return l.filterWindow(ids, since, time.Time{})
}

func (l *logSource) filterWindow(ids map[string]target, since, until time.Time) string {
	names := make([]string, 0, len(ids))
	for id := range ids {
		names = append(names, quote(id))
	}
	slices.Sort(names)
	f := `resource.type="cloud_run_revision" AND resource.labels.service_name=(` + strings.Join(names, " OR ") + `)`
	if !since.IsZero() {
		f += ` AND timestamp>="` + since.UTC().Format(time.RFC3339Nano) + `"`
	}
	if !until.IsZero() {
		f += ` AND timestamp<"` + until.UTC().Format(time.RFC3339Nano) + `"`
	}
	return f
}

// Logs reads the functions' lines from q.Since in time order and, with
// q.Follow, goes on with the lines written later, reconnecting (and filling
// the gap with entries.list) when the tail stream ends. Each line comes
// once per call (insertIds seen are skipped).
func (l *logSource) Logs(ctx context.Context, q providers.LogQuery) (<-chan providers.LogLine, <-chan error) {
	out := make(chan providers.LogLine, 256)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		errc <- l.run(ctx, q, out)
		close(errc)
	}()
	return out, errc
}

func (l *logSource) run(ctx context.Context, q providers.LogQuery, out chan<- providers.LogLine) error {
	ids, err := l.targets(ctx, q)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	seen := map[string]bool{}
	last := q.Since
	emit := func(e *loggingpb.LogEntry) bool {
		if seen[e.InsertId] {
			return true
		}
		seen[e.InsertId] = true
		line := l.line(e, ids)
		if line.Time.After(last) {
			last = line.Time
		}
		select {
		case out <- line:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if !q.Follow {
		return l.list(ctx, ids, q.Since, emit)
	}
	delay := time.Second
	for {
		// Open the tail first, so nothing written while the list runs is
		// missed; hold what it sends until the list has been emitted.
		tctx, cancel := context.WithCancel(ctx)
		stream, err := l.client.TailLogEntries(tctx)
		if err == nil {
			err = stream.Send(&loggingpb.TailLogEntriesRequest{ResourceNames: []string{"projects/" + l.d.c.cloudProject},
				Filter: l.filter(ids, time.Time{}), BufferWindow: durationpb.New(2 * time.Second)})
		}
		if err != nil {
			cancel()
			if err := l.backoff(ctx, err, &delay); err != nil {
				return err
			}
			continue
		}
		tailed := make(chan []*loggingpb.LogEntry, 64)
		tailErr := make(chan error, 1)
		go func() {
			defer close(tailed)
			for {
				resp, err := stream.Recv()
				if err != nil {
					tailErr <- err
					return
				}
				select {
				case tailed <- resp.Entries:
				case <-tctx.Done():
					tailErr <- tctx.Err()
					return
				}
			}
		}()
		// The stream follows from when the service has taken the request:
		// its first answer says so, or, as it may say nothing until there
		// are entries, tailSettle passes. Only then does the list read what
		// came before, so that nothing falls between the two; the tail's
		// entries wait until the list is out, and repeats are skipped.
		var held [][]*loggingpb.LogEntry
		timer := make(chan struct{})
		go func() {
			if l.d.sleep(tctx, tailSettle) == nil {
				close(timer)
			}
		}()
		select {
		case es, ok := <-tailed:
			if ok {
				held = append(held, es)
			}
		case <-timer:
		case <-ctx.Done():
			cancel()
			return nil
		}
		if err := l.list(ctx, ids, last, emit); err != nil {
			cancel()
			return err
		}
		delay = time.Second
		emitBatch := func(es []*loggingpb.LogEntry) bool {
			slices.SortStableFunc(es, func(a, b *loggingpb.LogEntry) int { return a.Timestamp.AsTime().Compare(b.Timestamp.AsTime()) })
			for _, e := range es {
				if !emit(e) {
					return false
				}
			}
			return true
		}
		for _, es := range held {
			if !emitBatch(es) {
				cancel()
				return nil
			}
		}
		for es := range tailed {
			if !emitBatch(es) {
				cancel()
				return nil
			}
		}
		cancel()
		err = <-tailErr
		if ctx.Err() != nil {
			return nil
		}
		if err := l.backoff(ctx, err, &delay); err != nil {
			return err
		}
	}
}

// backoff waits before another try when err is worth one, else returns it.
func (l *logSource) backoff(ctx context.Context, err error, delay *time.Duration) error {
	err = classify("log tail", err)
	if ctx.Err() != nil {
		return nil
	}
	if c := providers.CodeOf(err); c != providers.Throttled && c != providers.Unavailable && !errors.Is(err, errStreamEnded) {
		return err
	}
	if err := l.d.sleep(ctx, *delay); err != nil {
		return nil
	}
	*delay = min(2**delay, 30*time.Second)
	return nil
}

var errStreamEnded = errors.New("the tail stream ended")

// tailSettle is how long a new tail stream is given to take effect before
// the list reads what came before it, when the service says nothing first.
const tailSettle = 2 * time.Second

// list emits the entries from since in time order, a page (one call) at a
// time within the shared ListLogEntries budget; a throttled or unavailable
// page is asked again after a backoff.
func (l *logSource) list(ctx context.Context, ids map[string]target, since time.Time, emit func(*loggingpb.LogEntry) bool) error {
	return l.listWindow(ctx, ids, since, time.Time{}, emit)
}

// listWindow is list of the entries in [since, until) (until zero: no end).
func (l *logSource) listWindow(ctx context.Context, ids map[string]target, since, until time.Time, emit func(*loggingpb.LogEntry) bool) error {
	token, delay := "", time.Second
	for {
		if err := l.budget.wait(ctx, l.now, l.d.sleep); err != nil {
			return nil
		}
		req := &loggingpb.ListLogEntriesRequest{ResourceNames: []string{"projects/" + l.d.c.cloudProject},
			Filter: l.filterWindow(ids, since, until), OrderBy: "timestamp asc", PageSize: 1000}
		pager := iterator.NewPager(l.client.ListLogEntries(ctx, req), 1000, token)
		var page []*loggingpb.LogEntry
		next, err := pager.NextPage(&page)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			err = classify("log entries", err)
			if c := providers.CodeOf(err); c != providers.Throttled && c != providers.Unavailable {
				return err
			}
			if err := l.d.sleep(ctx, delay); err != nil {
				return nil
			}
			delay = min(2*delay, time.Minute)
			continue
		}
		delay = time.Second
		for _, e := range page {
			if !emit(e) {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		token = next
	}
}

// line is e as a log line of its function.
func (l *logSource) line(e *loggingpb.LogEntry, ids map[string]target) providers.LogLine {
	t := ids[e.GetResource().GetLabels()["service_name"]]
	reqID := e.Trace[strings.LastIndex(e.Trace, "/")+1:]
	if reqID == "" {
		reqID = e.Labels["execution_id"]
	}
	line := providers.LogLine{Time: e.Timestamp.AsTime(), Provider: "gcp", Function: t.name, RequestID: reqID,
		Stream: e.Labels["instanceId"], Token: e.InsertId}
	if line.Stream == "" {
		line.Stream = e.GetResource().GetLabels()["revision_name"]
	}
	switch {
	case e.HttpRequest != nil:
		ms := float64(e.HttpRequest.GetLatency().AsDuration().Microseconds()) / 1000
		line.Message = fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB",
			reqID, ms, int64(math.Ceil(ms/100)*100), t.memoryMB)
		if st := e.HttpRequest.Status; st >= 400 {
			line.Message += fmt.Sprintf("\tStatus: error (HTTP %d)", st)
		}
	case e.GetTextPayload() != "":
		line.Message = strings.TrimRight(e.GetTextPayload(), "\n")
	case e.GetJsonPayload() != nil:
		if m, ok := e.GetJsonPayload().AsMap()["message"].(string); ok {
			line.Message = m
		} else {
			b, _ := json.Marshal(e.GetJsonPayload().AsMap())
			line.Message = string(b)
		}
	}
	return line
}

var _ providers.LogSource = (*logSource)(nil)
