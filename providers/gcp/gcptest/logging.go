package gcptest

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/logging/apiv2/loggingpb"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	ltype "google.golang.org/genproto/googleapis/logging/type"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// logs is the Cloud Logging part of the fake: what the functions wrote,
// listed (ListLogEntries) and streamed as it is written (TailLogEntries).
type logs struct {
	loggingpb.UnimplementedLoggingServiceV2Server
	s *Server

	mu      sync.Mutex
	entries []*loggingpb.LogEntry
	nextID  int
	changed chan struct{} // closed and replaced on every append
	tails   int           // TailLogEntries streams open
	lists   int           // ListLogEntries calls
}

func newLogs(s *Server) *logs { return &logs{s: s, changed: make(chan struct{})} }

// Append adds entries as Cloud Logging receives them (InsertId and
// Timestamp filled in when empty).
func (l *logs) append(es ...*loggingpb.LogEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range es {
		l.nextID++
		if e.InsertId == "" {
			e.InsertId = fmt.Sprintf("fake%08d", l.nextID)
		}
		if e.Timestamp == nil {
			e.Timestamp = timestamppb.Now()
		}
		l.entries = append(l.entries, e)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// AppendLog adds log entries as if a function had written them.
func (s *Server) AppendLog(es ...*loggingpb.LogEntry) { s.logs.append(es...) }

// LogEntries returns copies of every entry so far.
func (s *Server) LogEntries() []*loggingpb.LogEntry {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	out := make([]*loggingpb.LogEntry, len(s.logs.entries))
	for i, e := range s.logs.entries {
		out[i] = proto.Clone(e).(*loggingpb.LogEntry)
	}
	return out
}

// ListCalls counts the ListLogEntries calls (the API allows 60 a minute).
func (s *Server) ListCalls() int {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	return s.logs.lists
}

// invocationLogs writes what Cloud Run logs for one request to fn: the
// request log (at the request's start, with its latency and status) and
// the handler's lines on stdout (between start and end), all with the
// request's trace and execution id.
func (s *Server) invocationLogs(project, region, service, revision, execID string, start time.Time, latency time.Duration, code int, lines []string) {
	latency = max(latency, time.Duration(len(lines)+1)*time.Microsecond)
	res := &monitoredres.MonitoredResource{Type: "cloud_run_revision", Labels: map[string]string{
		"project_id": project, "location": region, "service_name": service, "revision_name": revision, "configuration_name": service}}
	trace := "projects/" + project + "/traces/" + execID
	labels := map[string]string{"execution_id": execID, "instanceId": "00fake" + revision}
	var es []*loggingpb.LogEntry
	for i, line := range lines {
		es = append(es, &loggingpb.LogEntry{LogName: "projects/" + project + "/logs/run.googleapis.com%2Fstdout", Resource: res,
			Timestamp: timestamppb.New(start.Add(time.Duration(i+1) * latency / time.Duration(len(lines)+1))), Trace: trace, Labels: labels,
			Payload: &loggingpb.LogEntry_TextPayload{TextPayload: line}})
	}
	es = append(es, &loggingpb.LogEntry{LogName: "projects/" + project + "/logs/run.googleapis.com%2Frequests", Resource: res,
		Timestamp: timestamppb.New(start), Trace: trace, Labels: labels,
		Severity: ltype.LogSeverity_INFO,
		// The front end's own share of the latency: 1 ms here.
		HttpRequest: &ltype.HttpRequest{RequestMethod: "POST", Status: int32(code), Latency: durationpb.New(latency + time.Millisecond)}})
	s.logs.append(es...)
}

// The filters the fake understands: terms joined by AND, each
// resource.type="T", resource.labels.K="V" or =("V1" OR "V2"), or
// timestamp>="RFC3339".
var (
	reTerm   = regexp.MustCompile(`^(resource\.type|resource\.labels\.[a-z_]+|timestamp)\s*(=|>=|<)\s*(.+)$`)
	reQuoted = regexp.MustCompile(`"([^"]*)"`)
)

type logFilter func(*loggingpb.LogEntry) bool

func parseLogFilter(f string) (logFilter, error) {
	var preds []logFilter
	for _, term := range strings.Split(f, " AND ") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		m := reTerm.FindStringSubmatch(term)
		if m == nil {
			return nil, status.Errorf(codes.InvalidArgument, "the fake does not understand the filter term %q", term)
		}
		field, op, arg := m[1], m[2], m[3]
		var vals []string
		for _, q := range reQuoted.FindAllStringSubmatch(arg, -1) {
			vals = append(vals, q[1])
		}
		if len(vals) == 0 {
			return nil, status.Errorf(codes.InvalidArgument, "filter term %q: want quoted values", term)
		}
		get := func(e *loggingpb.LogEntry) string {
			if field == "resource.type" {
				return e.GetResource().GetType()
			}
			return e.GetResource().GetLabels()[strings.TrimPrefix(field, "resource.labels.")]
		}
		switch {
		case field == "timestamp":
			t, err := time.Parse(time.RFC3339Nano, vals[0])
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "filter term %q: %v", term, err)
			}
			if op == ">=" {
				preds = append(preds, func(e *loggingpb.LogEntry) bool { return !e.Timestamp.AsTime().Before(t) })
			} else if op == "<" {
				preds = append(preds, func(e *loggingpb.LogEntry) bool { return e.Timestamp.AsTime().Before(t) })
			} else {
				preds = append(preds, func(e *loggingpb.LogEntry) bool { return e.Timestamp.AsTime().Equal(t) })
			}
		case op == "=":
			preds = append(preds, func(e *loggingpb.LogEntry) bool {
				v := get(e)
				for _, w := range vals {
					if v == w {
						return true
					}
				}
				return false
			})
		default:
			return nil, status.Errorf(codes.InvalidArgument, "filter term %q: the fake compares resource fields with = only", term)
		}
	}
	return func(e *loggingpb.LogEntry) bool {
		for _, p := range preds {
			if !p(e) {
				return false
			}
		}
		return true
	}, nil
}

func (l *logs) ListLogEntries(_ context.Context, req *loggingpb.ListLogEntriesRequest) (*loggingpb.ListLogEntriesResponse, error) {
	l.s.mu.Lock()
	err := l.s.injected("ListLogEntries")
	l.s.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lists++
	if err != nil {
		return nil, err
	}
	if len(req.ResourceNames) == 0 {
		return nil, status.Error(codes.InvalidArgument, "resource_names is required")
	}
	match, err := parseLogFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	if req.OrderBy != "" && req.OrderBy != "timestamp asc" {
		return nil, status.Errorf(codes.InvalidArgument, "the fake orders by timestamp asc only, not %q", req.OrderBy)
	}
	var hits []*loggingpb.LogEntry
	for _, e := range l.entries {
		if match(e) {
			hits = append(hits, e)
		}
	}
	sortEntries(hits)
	start := 0
	if req.PageToken != "" {
		n, err := strconv.Atoi(req.PageToken)
		if err != nil || n > len(hits) {
			return nil, status.Errorf(codes.InvalidArgument, "bad page token %q", req.PageToken)
		}
		start = n
	}
	size := int(req.PageSize)
	if size <= 0 || size > 1000 {
		size = 50
	}
	end := min(start+size, len(hits))
	resp := &loggingpb.ListLogEntriesResponse{}
	for _, e := range hits[start:end] {
		resp.Entries = append(resp.Entries, proto.Clone(e).(*loggingpb.LogEntry))
	}
	if end < len(hits) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

func sortEntries(es []*loggingpb.LogEntry) {
	// Stable: entries of one time keep the order they were written in.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Timestamp.AsTime().Before(es[j-1].Timestamp.AsTime()); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// TailLogEntries streams the entries written after the request that match
// its filter, as Cloud Logging does (no backfill).
func (l *logs) TailLogEntries(stream loggingpb.LoggingServiceV2_TailLogEntriesServer) error {
	req, err := stream.Recv()
	if err != nil {
		return err
	}
	l.s.mu.Lock()
	err = l.s.injected("TailLogEntries")
	l.s.mu.Unlock()
	if err != nil {
		return err
	}
	match, err := parseLogFilter(req.Filter)
	if err != nil {
		return err
	}
	l.mu.Lock()
	next := len(l.entries)
	l.tails++
	l.mu.Unlock()
	// An empty first answer: the stream follows from here.
	if err := stream.Send(&loggingpb.TailLogEntriesResponse{}); err != nil {
		return err
	}
	defer func() { l.mu.Lock(); l.tails--; l.mu.Unlock() }()
	for {
		l.mu.Lock()
		fresh := l.entries[next:]
		next = len(l.entries)
		changed := l.changed
		l.mu.Unlock()
		var out []*loggingpb.LogEntry
		for _, e := range fresh {
			if match(e) {
				out = append(out, proto.Clone(e).(*loggingpb.LogEntry))
			}
		}
		if len(out) > 0 {
			if err := stream.Send(&loggingpb.TailLogEntriesResponse{Entries: out}); err != nil {
				return err
			}
		}
		select {
		case <-changed:
		case <-stream.Context().Done():
			return nil
		}
	}
}

// Tails counts the TailLogEntries streams open now.
func (s *Server) Tails() int {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	return s.logs.tails
}
