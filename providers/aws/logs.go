package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/evcli/evcli/providers"
)

// Defaults of LogSourceOptions.
const (
	DefaultLogGroupPrefix    = "/aws/lambda/"
	DefaultPollInterval      = time.Second
	DefaultRequestsPerSecond = 5 // FilterLogEvents' quota per account and region
	DefaultLookBack          = 5 * time.Second
	maxLiveTailGroups        = 10     // StartLiveTail's limit per session
	maxRoundBatch            = 10_000 // lines a polling round holds to sort them
)

// LogSourceOptions configure NewLogSource. Zero values take the defaults.
type LogSourceOptions struct {
	// LogGroupPrefix is prepended to function names (default /aws/lambda/).
	LogGroupPrefix string
	// Physical maps a project's function name to its Lambda function name
	// (nil: the same); lines carry the project's name.
	Physical func(fn string) string
	// Project, when set, limits "all functions" to the log groups of
	// <Project>-<fn> functions.
	Project string
	// DisableLiveTail polls FilterLogEvents only, even when following.
	DisableLiveTail bool
	// PollInterval is the pause between polling rounds.
	PollInterval time.Duration
	// RequestsPerSecond is the FilterLogEvents budget shared by all log
	// groups (and all Logs calls of this source).
	RequestsPerSecond float64
	// LookBack is how far before the newest event each poll asks again,
	// since CloudWatch Logs may make events visible late; repeats are
	// dropped by event id.
	LookBack time.Duration
	// MaxBackoff caps the wait after throttling (default 20s).
	MaxBackoff time.Duration
	// Now and Sleep are injected in tests.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// ClientOptions are applied to the CloudWatch Logs client.
	ClientOptions []func(*cloudwatchlogs.Options)
	// OnFallback is told why live tail was given up for polling.
	OnFallback func(err error)
}

// logsAPI is what the source uses of the CloudWatch Logs client.
type logsAPI interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	StartLiveTail(ctx context.Context, in *cloudwatchlogs.StartLiveTailInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartLiveTailOutput, error)
}

type logSource struct {
	api    logsAPI
	client *cloudwatchlogs.Client
	opt    LogSourceOptions
	budget *limiter
}

// NewLogSource returns the CloudWatch Logs source of the functions' log
// groups (/aws/lambda/<function>). Following, it uses StartLiveTail and falls
// back to polling FilterLogEvents (one request budget shared by all groups,
// a look-back of a few seconds, de-duplication by event id, backoff on
// ThrottlingException). The SDK's own retries are turned off: the source
// backs off itself, through the injected Sleep. The endpoint honours
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_CLOUDWATCH_LOGS (through cfg, as
// config.LoadDefaultConfig and the client resolve them).
func NewLogSource(cfg awssdk.Config, opts LogSourceOptions) providers.LogSource {
	if opts.LogGroupPrefix == "" {
		opts.LogGroupPrefix = DefaultLogGroupPrefix
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.RequestsPerSecond <= 0 {
		opts.RequestsPerSecond = DefaultRequestsPerSecond
	}
	if opts.LookBack <= 0 {
		opts.LookBack = DefaultLookBack
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 20 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = providers.Sleep
	}
	optFns := append([]func(*cloudwatchlogs.Options){func(o *cloudwatchlogs.Options) {
		o.Retryer = awssdk.NopRetryer{}
		if o.BaseEndpoint != nil {
			// StartLiveTail prefixes the host with "stream-"; a custom
			// endpoint (LocalStack, a test server) is used as given.
			o.APIOptions = append(o.APIOptions, disableHostPrefix)
		}
	}}, opts.ClientOptions...)
	c := cloudwatchlogs.NewFromConfig(cfg, optFns...)
	return &logSource{
		api:    c,
		client: c,
		opt:    opts,
		budget: newLimiter(opts.RequestsPerSecond, opts.Now, opts.Sleep),
	}
}

func disableHostPrefix(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("evcliDisableHostPrefix",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
		}), middleware.Before)
}

// As gives access to the *cloudwatchlogs.Client.
func (s *logSource) As(i any) bool {
	p, ok := i.(**cloudwatchlogs.Client)
	if ok && s.client != nil {
		*p = s.client
	}
	return ok && s.client != nil
}

// limiter spaces requests 1/rate apart, shared by every caller.
type limiter struct {
	mu       sync.Mutex
	next     time.Time
	interval time.Duration
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
}

func newLimiter(rate float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *limiter {
	return &limiter{interval: time.Duration(float64(time.Second) / rate), now: now, sleep: sleep}
}

// Wait takes the next slot and waits for it.
func (l *limiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	now := l.now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return l.sleep(ctx, d)
	}
	return ctx.Err()
}

// group is one log group being followed.
type group struct {
	name, arn, function string
	next                int64 // poll from this timestamp (ms)
	missing             bool  // ResourceNotFound last time
}

// Logs streams the functions' log lines.
func (s *logSource) Logs(ctx context.Context, q providers.LogQuery) (<-chan providers.LogLine, <-chan error) {
	out := make(chan providers.LogLine, 256)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		errc <- s.run(ctx, q, out)
	}()
	return out, errc
}

func (s *logSource) run(ctx context.Context, q providers.LogQuery, out chan<- providers.LogLine) error {
	groups, err := s.groups(ctx, q.Functions)
	if err != nil {
		return err
	}
	since := q.Since
	if since.IsZero() {
		since = s.opt.Now().Add(-s.opt.LookBack)
	}
	for _, g := range groups {
		g.next = since.UnixMilli()
	}
	st := &tailState{src: s, out: out, seen: map[string]*seenSet{}, since: since.UnixMilli()}
	if err := st.pollRound(ctx, groups); err != nil {
		return err
	}
	if !q.Follow {
		return nil
	}
	if !s.opt.DisableLiveTail {
		err := st.liveTail(ctx, groups)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s.opt.OnFallback != nil {
			s.opt.OnFallback(err)
		}
	}
	for {
		if err := s.opt.Sleep(ctx, s.opt.PollInterval); err != nil {
			return err
		}
		if err := st.pollRound(ctx, groups); err != nil {
			return err
		}
	}
}

// groups names the log groups of fns; with no functions, every group under
// the prefix. ARNs (for live tail) come from DescribeLogGroups when it is
// allowed; a group that does not exist yet is still polled.
func (s *logSource) groups(ctx context.Context, fns []string) ([]*group, error) {
	arns := map[string]string{}
	var listed []string
	var token *string
	var listErr error
	for {
		if err := s.budget.Wait(ctx); err != nil {
			return nil, err
		}
		resp, err := s.api.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: awssdk.String(s.opt.LogGroupPrefix), NextToken: token})
		if err != nil {
			listErr = err
			break
		}
		for _, g := range resp.LogGroups {
			name := awssdk.ToString(g.LogGroupName)
			arn := awssdk.ToString(g.LogGroupArn)
			if arn == "" {
				arn = strings.TrimSuffix(awssdk.ToString(g.Arn), ":*")
			}
			arns[name] = arn
			listed = append(listed, name)
		}
		token = resp.NextToken
		if token == nil || *token == "" {
			break
		}
	}
	var gs []*group
	if len(fns) == 0 {
		if listErr != nil {
			return nil, wrapErr(listErr, s.opt.LogGroupPrefix+"*")
		}
		if len(listed) == 0 {
			return nil, &providers.Error{Code: providers.NotFound, Resource: s.opt.LogGroupPrefix + "*",
				Err: errors.New("no Lambda log groups in this account and region"), Hint: "deploy a function first, or check --region"}
		}
		for _, name := range listed {
			fn := strings.TrimPrefix(name, s.opt.LogGroupPrefix)
			if s.opt.Project != "" {
				short, ok := strings.CutPrefix(fn, s.opt.Project+"-")
				if !ok {
					continue // another project's
				}
				fn = short
			}
			gs = append(gs, &group{name: name, arn: arns[name], function: fn})
		}
		if len(gs) == 0 {
			return nil, &providers.Error{Code: providers.NotFound, Resource: s.opt.LogGroupPrefix + s.opt.Project + "-*",
				Err: errors.New("no log groups of this project's functions in this account and region"), Hint: "deploy the project first, or check --region"}
		}
		return gs, nil
	}
	for _, fn := range fns {
		phys := fn
		if s.opt.Physical != nil {
			phys = s.opt.Physical(fn)
		}
		name := s.opt.LogGroupPrefix + phys
		gs = append(gs, &group{name: name, arn: arns[name], function: fn})
	}
	return gs, nil
}

// tailState is one Logs call's following state.
type tailState struct {
	src *logSource
	out chan<- providers.LogLine
	// since (epoch ms) is the query's lower bound: what the look-back of a
	// round finds before it is not passed on.
	since int64

	mu   sync.Mutex
	seen map[string]*seenSet // by log group, each pruned by its own newest event
}

func (st *tailState) seenOf(group string) *seenSet {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.seen[group]
	if s == nil {
		s = newSeenSet()
		st.seen[group] = s
	}
	return s
}

func (st *tailState) send(ctx context.Context, l providers.LogLine) error {
	select {
	case st.out <- l:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pollRound asks every group for its events since its cursor, minus the
// look-back, following nextToken, and sends the new ones in time order.
func (st *tailState) pollRound(ctx context.Context, groups []*group) error {
	s := st.src
	var batch []providers.LogLine
	flush := func() error {
		slices.SortStableFunc(batch, func(a, b providers.LogLine) int { return a.Time.Compare(b.Time) })
		for i, l := range batch {
			if err := st.send(ctx, l); err != nil {
				return err
			}
			batch[i] = providers.LogLine{}
		}
		batch = batch[:0]
		return nil
	}
	keep := s.opt.LookBack + 2*s.opt.PollInterval + time.Minute
	for _, g := range groups {
		seen := st.seenOf(g.name)
		start := g.next - s.opt.LookBack.Milliseconds()
		var token *string
		newest := g.next
		for {
			resp, err := st.filter(ctx, &cloudwatchlogs.FilterLogEventsInput{
				LogGroupName: awssdk.String(g.name),
				StartTime:    awssdk.Int64(start),
				NextToken:    token,
			}, g)
			if err != nil {
				return err
			}
			if resp == nil { // group missing: try again next round
				break
			}
			for _, e := range resp.Events {
				ts := awssdk.ToInt64(e.Timestamp)
				if ts < st.since {
					continue
				}
				id := awssdk.ToString(e.EventId)
				l := providers.LogLine{
					Time: time.UnixMilli(ts).UTC(), Provider: "aws", Function: g.function,
					Stream: awssdk.ToString(e.LogStreamName), Message: awssdk.ToString(e.Message), Token: id,
				}
				if seen.pollSeen(id, contentKey(g.name, l), ts) {
					continue
				}
				if ts > newest {
					newest = ts
				}
				batch = append(batch, l)
			}
			seen.prune(keep) // pages go forward in time: what falls behind is not asked again
			if len(batch) >= maxRoundBatch {
				// A long look-back: pass lines on rather than hold them
				// all (the tail's merge orders what is close in time).
				if err := flush(); err != nil {
					return err
				}
			}
			token = resp.NextToken
			if token == nil || *token == "" {
				break
			}
		}
		if newest > g.next {
			g.next = newest
		}
	}
	return flush()
}

// filter makes one FilterLogEvents request within the shared budget,
// backing off and trying again on throttling and unavailability. A missing
// group returns (nil, nil).
func (st *tailState) filter(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, g *group) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	s := st.src
	backoff := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if err := s.budget.Wait(ctx); err != nil {
			return nil, err
		}
		resp, err := s.api.FilterLogEvents(ctx, in)
		if err == nil {
			g.missing = false
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		code := apiCode(err)
		switch {
		case code == "ResourceNotFoundException":
			g.missing = true // not invoked yet: no log group
			return nil, nil
		case retryableCode(codeOf(err)) && attempt < 8:
			if err := s.opt.Sleep(ctx, backoff); err != nil {
				return nil, err
			}
			backoff = min(backoff*2, s.opt.MaxBackoff)
		default:
			return nil, wrapErr(err, g.name)
		}
	}
}

// liveTail follows the groups through StartLiveTail sessions (10 groups
// each) until one cannot go on; it returns why, and the caller polls
// instead. Sessions that end normally (they last at most 3 hours) are
// started again, after a catch-up poll so that nothing is lost between them.
func (st *tailState) liveTail(ctx context.Context, groups []*group) error {
	s := st.src
	for _, g := range groups {
		if g.arn == "" {
			return fmt.Errorf("live tail needs the ARN of %s (DescribeLogGroups did not list it)", g.name)
		}
	}
	byFn := map[string]*group{}
	for _, g := range groups {
		byFn[g.function] = g
	}
	failures := 0
	for {
		sctx, cancel := context.WithCancel(ctx)
		errs := make(chan error, len(groups))
		events := make(chan providers.LogLine, 256)
		var wg sync.WaitGroup
		started := make(chan struct{}, len(groups))
		nSessions := 0
		for i := 0; i < len(groups); i += maxLiveTailGroups {
			chunk := groups[i:min(i+maxLiveTailGroups, len(groups))]
			nSessions++
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- st.session(sctx, chunk, events, started)
			}()
		}
		go func() { wg.Wait(); close(events) }()
		var err error
		nStarted := 0
		caughtUp := false
	loop:
		for {
			select {
			case <-started:
				nStarted++
				if nStarted == nSessions && !caughtUp {
					// Every session is live: fetch what came between the
					// last poll and the sessions' start.
					caughtUp = true
					if err = st.pollRound(sctx, groups); err != nil {
						break loop
					}
					failures = 0
				}
			case l, ok := <-events:
				if !ok {
					break loop
				}
				if g := byFn[l.Function]; g != nil && l.Time.UnixMilli() > g.next {
					g.next = l.Time.UnixMilli()
				}
				if err = st.send(sctx, l); err != nil {
					break loop
				}
			case e := <-errs:
				if e != nil {
					err = e
					break loop
				}
			case <-sctx.Done():
				err = sctx.Err()
				break loop
			}
		}
		cancel()
		for l := range events { // the sessions end; pass on what they had read
			if g := byFn[l.Function]; g != nil && l.Time.UnixMilli() > g.next {
				g.next = l.Time.UnixMilli()
			}
			if ctx.Err() == nil {
				_ = st.send(ctx, l)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil || apiCode(err) == "SessionTimeoutException" {
			continue // a session ended normally: start again
		}
		failures++
		code := apiCode(err)
		if failures >= 3 || !caughtUp || code == "AccessDeniedException" || code == "UnknownOperationException" || code == "InvalidAction" {
			return err
		}
		if err := s.opt.Sleep(ctx, time.Duration(failures)*time.Second); err != nil {
			return err
		}
	}
}

// session runs one StartLiveTail session and sends its events.
func (st *tailState) session(ctx context.Context, gs []*group, out chan<- providers.LogLine, started chan<- struct{}) error {
	arns := make([]string, len(gs))
	byID := map[string]*group{}
	for i, g := range gs {
		arns[i] = g.arn
		byID[g.arn] = g
		byID[g.name] = g
	}
	resp, err := st.src.api.StartLiveTail(ctx, &cloudwatchlogs.StartLiveTailInput{LogGroupIdentifiers: arns})
	if err != nil {
		return err
	}
	stream := resp.GetStream()
	defer stream.Close()
	stop := context.AfterFunc(ctx, func() { _ = stream.Close() })
	defer stop()
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.StartLiveTailResponseStreamMemberSessionStart:
			started <- struct{}{}
		case *types.StartLiveTailResponseStreamMemberSessionUpdate:
			for _, e := range v.Value.SessionResults {
				gid := awssdk.ToString(e.LogGroupIdentifier)
				g := byID[gid]
				if g == nil {
					g = byID[strings.TrimSuffix(gid, ":*")]
				}
				if g == nil {
					continue
				}
				ts := awssdk.ToInt64(e.Timestamp)
				l := providers.LogLine{
					Time: time.UnixMilli(ts).UTC(), Provider: "aws", Function: g.function,
					Stream: awssdk.ToString(e.LogStreamName), Message: awssdk.ToString(e.Message),
				}
				ck := contentKey(g.name, l)
				l.Token = ck
				if st.seenOf(g.name).liveSeen(ck, ts) {
					continue
				}
				select {
				case out <- l:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return stream.Err()
}

func contentKey(groupName string, l providers.LogLine) string {
	return fmt.Sprintf("%s|%s|%d|%s", groupName, l.Stream, l.Time.UnixMilli(), l.Message)
}

// seenSet de-duplicates events between overlapping polls (by event id) and
// between polls and live tail (by group, stream, timestamp and message: live
// tail events carry no id). Entries older than the horizon are pruned.
type seenSet struct {
	mu       sync.Mutex
	ids      map[string]int64
	fromPoll map[string]int64
	fromLive map[string]int64
	newest   int64
}

func newSeenSet() *seenSet {
	return &seenSet{ids: map[string]int64{}, fromPoll: map[string]int64{}, fromLive: map[string]int64{}}
}

func (s *seenSet) pollSeen(id, ck string, ts int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok && id != "" {
		return true
	}
	if _, ok := s.fromLive[ck]; ok {
		return true
	}
	if id != "" {
		s.ids[id] = ts
	}
	s.fromPoll[ck] = ts
	s.newest = max(s.newest, ts)
	return false
}

func (s *seenSet) liveSeen(ck string, ts int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.fromPoll[ck]; ok {
		return true
	}
	s.fromLive[ck] = ts
	s.newest = max(s.newest, ts)
	return false
}

// prune forgets events older than keep before the newest.
func (s *seenSet) prune(keep time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	horizon := s.newest - keep.Milliseconds()
	for _, m := range []map[string]int64{s.ids, s.fromPoll, s.fromLive} {
		for k, ts := range m {
			if ts < horizon {
				delete(m, k)
			}
		}
	}
}

// Len returns the number of remembered events (tests).
func (s *seenSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids) + len(s.fromPoll) + len(s.fromLive)
}

// wrapErr gives an SDK error its portable code and the resource.
func wrapErr(err error, resource string) error {
	return classify(resource, err, func(c providers.Code) string {
		if c == providers.PermissionDenied {
			return "the credentials need logs:FilterLogEvents, logs:DescribeLogGroups and logs:StartLiveTail"
		}
		return ""
	})
}

var _ providers.LogSource = (*logSource)(nil)
