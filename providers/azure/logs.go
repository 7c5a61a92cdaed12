package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"

	"github.com/evcli/evcli/providers"
)

// The log source: Application Insights traces of the project's function
// app, read with KQL through the Log Analytics query API (azlogs). Azure
// Functions writes each log line of an invocation as a trace whose
// operation_Name is the function, customDimensions.InvocationId the
// invocation (evcli's request id) and itemId a unique record id.
//
// Following is polling: App Insights has no live tail that works on Flex
// and Linux Consumption apps. Each round asks, in one query for all the
// functions, for the traces from the cursor less an overlap (records
// become queryable a while after their timestamp: the ingestion delay) up
// to now, in time order, a page of rows at a time; rows already passed on
// are recognised by itemId and dropped, so a record that arrives late but
// within the overlap is printed once, and none is printed twice. Every
// query of the source, from every Logs call, waits for its turn in one
// request budget, and a 429 backs off for its Retry-After.

// Defaults of logsConfig.
const (
	azLogsPollInterval = 2 * time.Second
	azLogsOverlap      = 3 * time.Minute // App Insights' ingestion delay is typically under 3 minutes
	azLogsPerSecond    = 1.0             // the query API allows 200 requests per 30 s per user; tail leaves most to others
	azLogsPageRows     = 5000
	azLogsMaxBackoff   = 30 * time.Second
)

// logsConfig configures newLogs. Credential and one of ResourceID or
// WorkspaceID are required.
type logsConfig struct {
	Credential azcore.TokenCredential
	// Endpoint overrides the query API's endpoint (https://api.loganalytics.io):
	// sovereign clouds, fakes.
	Endpoint string
	// ResourceID is the Application Insights component
	// (/subscriptions/…/providers/Microsoft.Insights/components/<name>),
	// queried resource-centric; WorkspaceID a Log Analytics workspace
	// (classic names are not available there: use ResourceID).
	ResourceID, WorkspaceID string
	// App is the function app (cloud_RoleName); "" reads every app the
	// component holds.
	App string
	// Physical maps a project's function name to the name it runs under
	// in the app (nil: the same).
	Physical func(fn string) string
	// ByApp: Physical names each function's own function app (one app
	// per function, as the deployer makes them), and the queries select by
	// cloud_RoleName instead of operation_Name (every app's functions
	// have the same names: the HTTP invoke route and the Event Grid
	// trigger).
	ByApp bool
	// Apps lists the project's function apps (app name -> function), for
	// a tail of every function: with ByApp the rows name only the app
	// (every app's trigger is called "events"), so without it each line
	// would be labelled with that trigger's name.
	Apps func(ctx context.Context) (map[string]string, error)
	// PollInterval is the pause between rounds; Overlap how far before the
	// cursor each round asks again; RequestsPerSecond the budget all
	// queries share; PageRows the rows one query takes.
	PollInterval, Overlap time.Duration
	RequestsPerSecond     float64
	PageRows              int
	MaxBackoff            time.Duration
	Now                   func() time.Time
	Sleep                 func(ctx context.Context, d time.Duration) error
	ClientOptions         *azlogs.ClientOptions
}

// insightsLogs is the App Insights log source.
type insightsLogs struct {
	cfg    logsConfig
	client *azlogs.Client
	budget *azBudget
}

// newLogs returns the log source of cfg; it makes no call.
func newLogs(cfg logsConfig) (*insightsLogs, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = azLogsPollInterval
	}
	if cfg.Overlap <= 0 {
		cfg.Overlap = azLogsOverlap
	}
	if cfg.RequestsPerSecond <= 0 {
		cfg.RequestsPerSecond = azLogsPerSecond
	}
	if cfg.PageRows <= 0 {
		cfg.PageRows = azLogsPageRows
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = azLogsMaxBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = providers.Sleep
	}
	if cfg.ResourceID == "" && cfg.WorkspaceID == "" {
		return nil, &providers.Error{Code: providers.Unconfigured, Resource: "application insights", Err: errors.New("no Application Insights component or workspace to read logs from"),
			Hint: "deploy the project (it creates the component), or set the component's resource id"}
	}
	if cfg.Credential == nil {
		return nil, &providers.Error{Code: providers.Unauthenticated, Resource: "application insights", Err: errors.New("no credential"),
			Hint: "sign in with az login (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)"}
	}
	var opts azlogs.ClientOptions
	if cfg.ClientOptions != nil {
		opts = *cfg.ClientOptions
	}
	// The source backs off itself, through the injected Sleep.
	opts.Retry = policy.RetryOptions{MaxRetries: -1}
	if cfg.Endpoint != "" {
		opts.Cloud = cloud.Configuration{
			ActiveDirectoryAuthorityHost: cloud.AzurePublic.ActiveDirectoryAuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				azlogs.ServiceName: {Audience: cloud.AzurePublic.Services[azlogs.ServiceName].Audience, Endpoint: strings.TrimRight(cfg.Endpoint, "/")},
			},
		}
	}
	c, err := azlogs.NewClient(cfg.Credential, &opts)
	if err != nil {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "application insights", Err: err}
	}
	return &insightsLogs{cfg: cfg, client: c, budget: newAzBudget(cfg.RequestsPerSecond, cfg.Now, cfg.Sleep)}, nil
}

// As exposes the SDK client: **azlogs.Client.
func (s *insightsLogs) As(target any) bool {
	if p, ok := target.(**azlogs.Client); ok {
		*p = s.client
		return true
	}
	return false
}

func (s *insightsLogs) resource() string {
	if s.cfg.ResourceID != "" {
		return "application insights " + lastPathSegment(s.cfg.ResourceID)
	}
	return "log analytics workspace " + s.cfg.WorkspaceID
}

func lastPathSegment(id string) string {
	return id[strings.LastIndex(id, "/")+1:]
}

// azBudget spaces requests 1/rate apart, shared by every caller.
type azBudget struct {
	mu       sync.Mutex
	next     time.Time
	interval time.Duration
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
}

func newAzBudget(rate float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *azBudget {
	return &azBudget{interval: time.Duration(float64(time.Second) / rate), now: now, sleep: sleep}
}

// wait takes the next slot and waits for it.
func (b *azBudget) wait(ctx context.Context) error {
	b.mu.Lock()
	now := b.now()
	at := b.next
	if at.Before(now) {
		at = now
	}
	b.next = at.Add(b.interval)
	b.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return b.sleep(ctx, d)
	}
	return ctx.Err()
}

// Logs streams the functions' trace lines.
func (s *insightsLogs) Logs(ctx context.Context, q providers.LogQuery) (<-chan providers.LogLine, <-chan error) {
	out := make(chan providers.LogLine, 256)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		errc <- s.run(ctx, q, out)
	}()
	return out, errc
}

// traceRow is one row of the query's result.
type traceRow struct {
	at                              time.Time
	id, message, function, instance string
	role                            string // cloud_RoleName: the function app
	severity                        int
	dims                            map[string]any
}

// tailCursor is one Logs call's position: the newest time passed on and
// the ids passed on since cursor less the overlap.
type tailCursor struct {
	since  time.Time // the query's lower bound
	cursor time.Time
	seen   map[string]time.Time
}

func (s *insightsLogs) run(ctx context.Context, q providers.LogQuery, out chan<- providers.LogLine) error {
	since := q.Since
	if since.IsZero() {
		since = s.cfg.Now().Add(-s.cfg.Overlap)
	}
	names := map[string]string{} // physical -> project name
	for _, fn := range q.Functions {
		names[s.physical(fn)] = fn
	}
	if len(q.Functions) == 0 && s.cfg.ByApp && s.cfg.Apps != nil {
		apps, err := s.cfg.Apps(ctx)
		if err != nil {
			return err
		}
		for app, fn := range apps {
			names[app] = fn
		}
	}
	c := &tailCursor{since: since, cursor: since, seen: map[string]time.Time{}}
	for {
		if err := s.round(ctx, q, names, c, out); err != nil {
			return err
		}
		if !q.Follow {
			return nil
		}
		if err := s.cfg.Sleep(ctx, s.cfg.PollInterval); err != nil {
			return err
		}
	}
}

func (s *insightsLogs) physical(fn string) string {
	if s.cfg.Physical != nil {
		return s.cfg.Physical(fn)
	}
	return fn
}

// round reads from the cursor less the overlap to now, page by page, and
// passes on the rows not seen before, in time order.
func (s *insightsLogs) round(ctx context.Context, q providers.LogQuery, names map[string]string, c *tailCursor, out chan<- providers.LogLine) error {
	start := c.cursor.Add(-s.cfg.Overlap)
	if start.Before(c.since) {
		start = c.since
	}
	end := s.cfg.Now().Add(time.Second)
	after := "" // within start's time, the rows after this record id
	for {
		rows, err := s.query(ctx, q.Functions, start, after, end)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.at.Before(c.since) || r.function == "" { // the host's own lines belong to no function
				continue
			}
			if _, dup := c.seen[r.id]; dup {
				continue
			}
			c.seen[r.id] = r.at
			if r.at.After(c.cursor) {
				c.cursor = r.at
			}
			l := s.line(r, names)
			select {
			case out <- l:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// A full page: the next one starts after its last row, in the
		// query's order (time, then record id), however many rows share
		// that time.
		if len(rows) < s.cfg.PageRows {
			break
		}
		start, after = rows[len(rows)-1].at, rows[len(rows)-1].id
	}
	// What falls before the next round's start is never asked again.
	horizon := c.cursor.Add(-s.cfg.Overlap)
	for id, at := range c.seen {
		if at.Before(horizon) {
			delete(c.seen, id)
		}
	}
	return nil
}

// kqlString quotes s as a KQL string literal.
func kqlString(s string) string {
	b, _ := json.Marshal(s) // KQL's double-quoted strings take JSON's escapes
	return string(b)
}

// kql is the query of one page.
func (s *insightsLogs) kql(fns []string, start time.Time, after string) string {
	var b strings.Builder
	b.WriteString("traces")
	at := start.UTC().Format(time.RFC3339Nano)
	if after == "" {
		fmt.Fprintf(&b, "\n| where timestamp >= datetime(%s)", at)
	} else {
		fmt.Fprintf(&b, "\n| where timestamp > datetime(%s) or (timestamp == datetime(%s) and strcmp(itemId, %s) > 0)", at, at, kqlString(after))
	}
	if s.cfg.App != "" {
		fmt.Fprintf(&b, "\n| where cloud_RoleName == %s", kqlString(s.cfg.App))
	}
	if len(fns) > 0 {
		quoted := make([]string, len(fns))
		for i, fn := range fns {
			quoted[i] = kqlString(s.physical(fn))
		}
		col := "operation_Name"
		if s.cfg.ByApp {
			col = "cloud_RoleName"
		}
		fmt.Fprintf(&b, "\n| where %s in (%s)", col, strings.Join(quoted, ", "))
	}
	b.WriteString("\n| where isnotempty(operation_Name)")
	b.WriteString("\n| project timestamp, itemId, message, operation_Name, cloud_RoleName, cloud_RoleInstance, severityLevel, customDimensions")
	fmt.Fprintf(&b, "\n| order by timestamp asc, itemId asc\n| take %d", s.cfg.PageRows)
	return b.String()
}

// query reads one page of traces: from start, or after the record after
// at start's time.
func (s *insightsLogs) query(ctx context.Context, fns []string, start time.Time, after string, end time.Time) ([]traceRow, error) {
	body := azlogs.QueryBody{Query: azPtr(s.kql(fns, start, after))}
	span := azlogs.NewTimeInterval(start, end)
	body.Timespan = &span
	tables, err := s.ask(ctx, body)
	if err != nil {
		return nil, err
	}
	return decodeTraces(tables)
}

// ask makes one query within the budget, backing off on 429 and 5xx.
func (s *insightsLogs) ask(ctx context.Context, body azlogs.QueryBody) ([]azlogs.Table, error) {
	backoff := time.Second
	for attempt := 0; ; attempt++ {
		if err := s.budget.wait(ctx); err != nil {
			return nil, err
		}
		var res azlogs.QueryResults
		var err error
		if s.cfg.ResourceID != "" {
			var r azlogs.QueryResourceResponse
			r, err = s.client.QueryResource(ctx, s.cfg.ResourceID, body, nil)
			res = r.QueryResults
		} else {
			var r azlogs.QueryWorkspaceResponse
			r, err = s.client.QueryWorkspace(ctx, s.cfg.WorkspaceID, body, nil)
			res = r.QueryResults
		}
		if err == nil {
			if res.Error != nil {
				return nil, &providers.Error{Code: providers.Unavailable, Resource: s.resource(), Err: fmt.Errorf("the query failed: %v", res.Error)}
			}
			return res.Tables, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		st := statusOf(err)
		if (st == http.StatusTooManyRequests || st >= 500) && attempt < 8 {
			d := min(backoff, s.cfg.MaxBackoff)
			if ra := azRetryAfter(err); ra > 0 {
				d = min(ra, s.cfg.MaxBackoff)
			}
			if err := s.cfg.Sleep(ctx, d); err != nil {
				return nil, err
			}
			backoff *= 2
			continue
		}
		return nil, classifyIn(svcMonitor, s.resource(), err)
	}
}

func azPtr[T any](v T) *T { return &v }

// decodeTraces reads the rows of the primary table by column name.
func decodeTraces(tables []azlogs.Table) ([]traceRow, error) {
	if len(tables) == 0 {
		return nil, nil
	}
	t := tables[0]
	col := map[string]int{}
	for i, c := range t.Columns {
		if c.Name != nil {
			col[*c.Name] = i
		}
	}
	for _, need := range []string{"timestamp", "itemId", "message"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("application insights: the query's result has no %s column", need)
		}
	}
	get := func(r azlogs.Row, name string) any {
		i, ok := col[name]
		if !ok || i >= len(r) {
			return nil
		}
		return r[i]
	}
	text := func(v any) string {
		switch v := v.(type) {
		case string:
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		case nil:
			return ""
		}
		return fmt.Sprint(v)
	}
	rows := make([]traceRow, 0, len(t.Rows))
	for _, r := range t.Rows {
		at, err := time.Parse(time.RFC3339Nano, text(get(r, "timestamp")))
		if err != nil {
			return nil, fmt.Errorf("application insights: a trace's timestamp %q: %v", text(get(r, "timestamp")), err)
		}
		tr := traceRow{at: at.UTC(), id: text(get(r, "itemId")), message: text(get(r, "message")),
			function: text(get(r, "operation_Name")), role: text(get(r, "cloud_RoleName")), instance: text(get(r, "cloud_RoleInstance"))}
		if f, ok := get(r, "severityLevel").(float64); ok {
			tr.severity = int(f)
		}
		// dynamic columns arrive as JSON text (or, from some fakes, as objects).
		switch d := get(r, "customDimensions").(type) {
		case string:
			_ = json.Unmarshal([]byte(d), &tr.dims)
		case map[string]any:
			tr.dims = d
		}
		if tr.id == "" {
			tr.id = tr.at.Format(time.RFC3339Nano) + "/" + tr.message
		}
		rows = append(rows, tr)
	}
	return rows, nil
}

// azCorrelationKeys are where a trace's correlation id may be among its
// custom dimensions: structured logging puts a template's arguments under
// prop__<name>.
var azCorrelationKeys = []string{"correlationId", "CorrelationId", "correlation_id", "prop__correlationId", "prop__CorrelationId", "prop__correlation_id"}

// azExecuted is the Functions host's trace at the end of an invocation:
// Executed 'Functions.<name>' (Succeeded|Failed, Id=<invocation id>, Duration=<n>ms).
var azExecuted = regexp.MustCompile(`^Executed '[^']*' \((Succeeded|Failed), Id=([0-9A-Za-z-]+), Duration=([0-9.]+)ms\)`)

// azSeverity names App Insights' severity levels as tail reads levels.
var azSeverity = [...]string{"debug", "info", "warn", "error", "fatal"}

// line is the log line of a trace. Its correlation id, when a custom
// dimension carries it and the message does not, reaches tail through a
// JSON message: {"message", "level", "correlationId"}.
func (s *insightsLogs) line(r traceRow, names map[string]string) providers.LogLine {
	fn := r.function
	key := fn
	if s.cfg.ByApp {
		key = r.role
	}
	if n, ok := names[key]; ok {
		fn = n
	}
	l := providers.LogLine{Time: r.at, Provider: "azure", Function: fn, Stream: r.instance, Message: r.message, Token: r.id}
	if id, ok := r.dims["InvocationId"].(string); ok {
		l.RequestID = id
	}
	if m := azExecuted.FindStringSubmatch(strings.TrimSpace(r.message)); m != nil {
		// The host's end-of-invocation line, in the portable REPORT form
		// every driver's tail and tune read.
		ms, _ := strconv.ParseFloat(m[3], 64)
		l.RequestID = m[2]
		l.Message = fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms", m[2], ms, int64(math.Ceil(ms)))
		if m[1] != "Succeeded" {
			l.Message += "\tStatus: error"
		}
		return l
	}
	var corr string
	for _, k := range azCorrelationKeys {
		if v, ok := r.dims[k].(string); ok && v != "" {
			corr = v
			break
		}
	}
	msg := strings.TrimSpace(r.message)
	if corr != "" && !(strings.HasPrefix(msg, "{") && strings.Contains(msg, corr)) {
		level := "info"
		if r.severity >= 0 && r.severity < len(azSeverity) {
			level = azSeverity[r.severity]
		}
		b, _ := json.Marshal(struct {
			Message       string `json:"message"`
			Level         string `json:"level"`
			CorrelationID string `json:"correlationId"`
		}{r.message, level, corr})
		l.Message = string(b)
	}
	return l
}

// azRetryAfter is the Retry-After of an SDK error's response (seconds or
// an HTTP date), 0 when it has none.
func azRetryAfter(err error) time.Duration {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.RawResponse == nil {
		return 0
	}
	h := re.RawResponse.Header.Get("Retry-After")
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return time.Until(t)
	}
	return 0
}

var _ providers.LogSource = (*insightsLogs)(nil)

// requestRow is one invocation as the requests table records it.
type requestRow struct {
	at         time.Time
	id         string
	durationMs float64
	success    bool
}

// requests reads a function's invocations in [since, until), newest
// first, at most limit: App Insights' request records, each an invocation
// with its duration (tune's records where the metrics are per minute).
func (s *insightsLogs) requests(ctx context.Context, function string, since, until time.Time, limit int) ([]requestRow, error) {
	var b strings.Builder
	b.WriteString("requests")
	fmt.Fprintf(&b, "\n| where timestamp >= datetime(%s)", since.UTC().Format(time.RFC3339Nano))
	if s.cfg.App != "" {
		fmt.Fprintf(&b, "\n| where cloud_RoleName == %s", kqlString(s.cfg.App))
	}
	if s.cfg.ByApp {
		fmt.Fprintf(&b, "\n| where cloud_RoleName in (%s)", kqlString(s.physical(function)))
	} else {
		fmt.Fprintf(&b, "\n| where operation_Name in (%s)", kqlString(s.physical(function)))
	}
	b.WriteString("\n| project timestamp, id, duration, success, operation_Name, customDimensions")
	fmt.Fprintf(&b, "\n| order by timestamp desc, id asc\n| take %d", limit)
	body := azlogs.QueryBody{Query: azPtr(b.String())}
	span := azlogs.NewTimeInterval(since, until)
	body.Timespan = &span
	tables, err := s.ask(ctx, body)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, nil
	}
	t := tables[0]
	col := map[string]int{}
	for i, c := range t.Columns {
		if c.Name != nil {
			col[*c.Name] = i
		}
	}
	for _, need := range []string{"timestamp", "id", "duration"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("application insights: the requests query's result has no %s column", need)
		}
	}
	out := make([]requestRow, 0, len(t.Rows))
	for _, r := range t.Rows {
		if len(r) < len(t.Columns) {
			continue
		}
		ts, _ := r[col["timestamp"]].(string)
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, fmt.Errorf("application insights: a request's timestamp %q: %v", ts, err)
		}
		row := requestRow{at: at.UTC(), success: true}
		row.id, _ = r[col["id"]].(string)
		row.durationMs, _ = r[col["duration"]].(float64)
		if i, ok := col["success"]; ok {
			switch v := r[i].(type) {
			case bool:
				row.success = v
			case string:
				row.success = !strings.EqualFold(v, "false")
			}
		}
		if i, ok := col["customDimensions"]; ok {
			var dims map[string]any
			switch d := r[i].(type) {
			case string:
				_ = json.Unmarshal([]byte(d), &dims)
			case map[string]any:
				dims = d
			}
			if id, ok := dims["InvocationId"].(string); ok && id != "" {
				row.id = id
			}
		}
		out = append(out, row)
	}
	return out, nil
}
