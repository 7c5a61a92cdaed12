package aztest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Trace is one Application Insights trace record, as the "traces" table
// (classic schema) holds it.
type Trace struct {
	Time       time.Time
	ItemID     string
	Message    string
	Operation  string // operation_Name: the function
	Role       string // cloud_RoleName: the function app
	Instance   string // cloud_RoleInstance
	Severity   int
	Dimensions map[string]string // customDimensions
}

// Request is one Application Insights request record (classic schema): an
// invocation of a function, as Azure Functions reports it.
type Request struct {
	Time       time.Time
	ID         string
	Operation  string // operation_Name: the function
	Role       string // cloud_RoleName: the function app
	DurationMs float64
	Success    bool
	Dimensions map[string]string // customDimensions (InvocationId, ...)
}

// LogsServer is a fake of the Log Analytics query API
// (POST /v1/workspaces/{id}/query and POST /v1/{resourceId}/query, the
// paths azlogs calls) over HTTPS on 127.0.0.1. It keeps traces and answers
// the queries the azure driver sends, of the traces table (tail) and the
// requests table (tune's records): the body's timespan selects by
// timestamp (start inclusive, end exclusive, as the service does), and of
// the KQL it applies what evcli writes: where timestamp >= datetime(…) or
// a page's cursor (timestamp > T or (timestamp == T and strcmp(itemId, …)
// > 0)), cloud_RoleName == "…" or in (…), operation_Name in (…), order by timestamp
// (asc or desc) then the record id, take N. A query of another table is
// refused with 400 BadArgumentError.
// Throttle makes the next requests answer 429 with Retry-After.
type LogsServer struct {
	srv *httptest.Server

	mu       sync.Mutex
	traces   []Trace
	requests []Request
	throttle int
	nreq     int
	queries  []string
}

// NewLogs starts a LogsServer; Close stops it.
func NewLogs() *LogsServer {
	s := &LogsServer{}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the server's base URL (the query API's endpoint).
func (s *LogsServer) URL() string { return s.srv.URL }

// Client is an HTTP client that trusts the server's certificate.
func (s *LogsServer) Client() *http.Client { return s.srv.Client() }

// Close stops the server.
func (s *LogsServer) Close() { s.srv.Close() }

// Add ingests traces: they are queryable from now on, whatever their time
// (a late one stands for the service's ingestion delay).
func (s *LogsServer) Add(ts ...Trace) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.traces = append(s.traces, ts...)
}

// AddRequests ingests request records.
func (s *LogsServer) AddRequests(rs ...Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rs...)
}

// Throttle makes the next n requests answer 429.
func (s *LogsServer) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Requests is how many requests the server has answered (429s too).
func (s *LogsServer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nreq
}

// Queries are the KQL texts received, in order.
func (s *LogsServer) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

var (
	kqlSince = regexp.MustCompile(`\|\s*where timestamp >= datetime\(([^)]+)\)`)
	kqlAfter = regexp.MustCompile(`\|\s*where timestamp > datetime\(([^)]+)\) or \(timestamp == datetime\(([^)]+)\) and strcmp\(itemId, ("(?:[^"\\]|\\.)*")\) > 0\)`)
	kqlRole  = regexp.MustCompile(`\|\s*where cloud_RoleName == ("(?:[^"\\]|\\.)*")`)
	kqlRoles = regexp.MustCompile(`\|\s*where cloud_RoleName in \(((?:\s*"(?:[^"\\]|\\.)*"\s*,?)*)\)`)
	kqlOps   = regexp.MustCompile(`\|\s*where operation_Name in \(((?:\s*"(?:[^"\\]|\\.)*"\s*,?)*)\)`)
	kqlStr   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	kqlTake  = regexp.MustCompile(`\|\s*take (\d+)\s*$`)
)

func (s *LogsServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.nreq++
	throttled := s.throttle > 0
	if throttled {
		s.throttle--
	}
	s.mu.Unlock()
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/v1/") || !strings.HasSuffix(r.URL.Path, "/query") {
		logsError(w, http.StatusNotFound, "PathNotFoundError", "The requested path does not exist")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		logsError(w, http.StatusUnauthorized, "AuthorizationRequiredError", "Valid authentication was not provided")
		return
	}
	if throttled {
		w.Header().Set("Retry-After", "1")
		logsError(w, http.StatusTooManyRequests, "ThrottledError", "Your request was throttled")
		return
	}
	var body struct {
		Query    string `json:"query"`
		Timespan string `json:"timespan"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		logsError(w, http.StatusBadRequest, "BadArgumentError", "The request body is not JSON: "+err.Error())
		return
	}
	s.mu.Lock()
	s.queries = append(s.queries, body.Query)
	s.mu.Unlock()
	if strings.HasPrefix(strings.TrimSpace(body.Query), "requests") {
		s.serveRequests(w, body.Query, body.Timespan)
		return
	}
	rows, err := s.run(body.Query, body.Timespan)
	if err != nil {
		logsError(w, http.StatusBadRequest, "BadArgumentError", err.Error())
		return
	}
	cols := []map[string]string{{"name": "timestamp", "type": "datetime"}, {"name": "itemId", "type": "string"},
		{"name": "message", "type": "string"}, {"name": "operation_Name", "type": "string"},
		{"name": "cloud_RoleName", "type": "string"}, {"name": "cloud_RoleInstance", "type": "string"}, {"name": "severityLevel", "type": "int"},
		{"name": "customDimensions", "type": "dynamic"}}
	out := make([][]any, len(rows))
	for i, t := range rows {
		dims, _ := json.Marshal(t.Dimensions) // dynamic columns travel as JSON text
		out[i] = []any{t.Time.UTC().Format("2006-01-02T15:04:05.0000000Z"), t.ItemID, t.Message, t.Operation, t.Role, t.Instance, t.Severity, string(dims)}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"tables": []any{map[string]any{"name": "PrimaryResult", "columns": cols, "rows": out}}})
}

// filter is what a query selects by time, app and function, and how many.
type filter struct {
	from, to time.Time
	// after: rows at from itself only past this record id (a page's cursor).
	after *string
	role  *string
	roles map[string]bool
	ops   map[string]bool
	take  int
	desc  bool
}

func (f filter) keep(at time.Time, id, role, op string) bool {
	if !f.from.IsZero() && at.Before(f.from) || !f.to.IsZero() && !at.Before(f.to) {
		return false
	}
	if f.after != nil && at.Equal(f.from) && strings.Compare(id, *f.after) <= 0 {
		return false
	}
	return (f.role == nil || role == *f.role) && (f.roles == nil || f.roles[role]) && (f.ops == nil || f.ops[op])
}

func (s *LogsServer) run(q, timespan string) ([]Trace, error) {
	if !strings.HasPrefix(strings.TrimSpace(q), "traces") {
		return nil, fmt.Errorf("the fake answers queries of the traces and requests tables only: %q", q)
	}
	f, err := parseFilter(q, timespan)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	var rows []Trace
	for _, t := range s.traces {
		if f.keep(t.Time, t.ItemID, t.Role, t.Operation) {
			rows = append(rows, t)
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(rows, func(a, b Trace) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ItemID, b.ItemID)
	})
	if f.take >= 0 && len(rows) > f.take {
		rows = rows[:f.take]
	}
	return rows, nil
}

var kqlDesc = regexp.MustCompile(`\|\s*order by timestamp desc`)

func (s *LogsServer) serveRequests(w http.ResponseWriter, q, timespan string) {
	f, err := parseFilter(q, timespan)
	if err != nil {
		logsError(w, http.StatusBadRequest, "BadArgumentError", err.Error())
		return
	}
	s.mu.Lock()
	var rows []Request
	for _, r := range s.requests {
		if f.keep(r.Time, r.ID, r.Role, r.Operation) {
			rows = append(rows, r)
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(rows, func(a, b Request) int {
		c := a.Time.Compare(b.Time)
		if f.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if f.take >= 0 && len(rows) > f.take {
		rows = rows[:f.take]
	}
	cols := []map[string]string{{"name": "timestamp", "type": "datetime"}, {"name": "id", "type": "string"},
		{"name": "duration", "type": "real"}, {"name": "success", "type": "bool"}, {"name": "operation_Name", "type": "string"},
		{"name": "customDimensions", "type": "dynamic"}}
	out := make([][]any, len(rows))
	for i, r := range rows {
		dims, _ := json.Marshal(r.Dimensions)
		out[i] = []any{r.Time.UTC().Format("2006-01-02T15:04:05.0000000Z"), r.ID, r.DurationMs, r.Success, r.Operation, string(dims)}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"tables": []any{map[string]any{"name": "PrimaryResult", "columns": cols, "rows": out}}})
}

// kqlIn is the set of string literals of the "in (...)" re finds in q,
// nil when q has none.
func kqlIn(re *regexp.Regexp, q string) map[string]bool {
	m := re.FindStringSubmatch(q)
	if m == nil {
		return nil
	}
	set := map[string]bool{}
	for _, lit := range kqlStr.FindAllString(m[1], -1) {
		var v string
		_ = json.Unmarshal([]byte(lit), &v)
		set[v] = true
	}
	return set
}

func parseFilter(q, timespan string) (filter, error) {
	f := filter{take: -1, desc: kqlDesc.MatchString(q)}
	if timespan != "" {
		a, b, ok := strings.Cut(timespan, "/")
		var err1, err2 error
		f.from, err1 = time.Parse(time.RFC3339Nano, a)
		f.to, err2 = time.Parse(time.RFC3339Nano, b)
		if !ok || err1 != nil || err2 != nil {
			return f, fmt.Errorf("the timespan %q is not start/end in ISO 8601", timespan)
		}
	}
	if m := kqlSince.FindStringSubmatch(q); m != nil {
		t, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			return f, fmt.Errorf("datetime(%s): %v", m[1], err)
		}
		if t.After(f.from) {
			f.from = t
		}
	}
	if m := kqlAfter.FindStringSubmatch(q); m != nil {
		t, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil || m[1] != m[2] {
			return f, fmt.Errorf("the fake pages with one datetime in both terms: %q", m[0])
		}
		var id string
		_ = json.Unmarshal([]byte(m[3]), &id)
		if t.After(f.from) || t.Equal(f.from) {
			f.from, f.after = t, &id
		}
	}
	if m := kqlRole.FindStringSubmatch(q); m != nil {
		var v string
		_ = json.Unmarshal([]byte(m[1]), &v)
		f.role = &v
	}
	f.roles, f.ops = kqlIn(kqlRoles, q), kqlIn(kqlOps, q)
	if m := kqlTake.FindStringSubmatch(q); m != nil {
		f.take, _ = strconv.Atoi(m[1])
	}
	return f, nil
}

func logsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}
