package awstest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

type logGroup struct {
	name      string
	created   time.Time
	retention int // days; 0 = never expire
	tags      map[string]string
	class     string
	kmsKeyID  string
	streams   map[string]*logStream
}

type logStream struct {
	name    string
	created time.Time
	events  []LogEvent
}

// LogEvent is one log line of a stream.
type LogEvent struct {
	Stream    string
	Timestamp int64 // milliseconds since the epoch
	Message   string
	ID        string // eventId, set when stored
}

// retentionDays are the values PutRetentionPolicy accepts.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

type logsService struct{ s *Server }

func (logsService) writeError(w http.ResponseWriter, _ string, e *apiError, _ string) {
	jsonError(w, e)
}

func (s *Server) logGroupArn(name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", s.region, s.account, name)
}

// logGroupOfArn turns a log group ARN (with or without ":*") into its name.
func logGroupOfArn(arn string) string {
	_, name, ok := strings.Cut(arn, ":log-group:")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(name, ":*")
}

func (x logsService) parse(r *http.Request, body []byte) (op, *apiError) {
	action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil && len(body) > 0 {
		return op{action: action}, errf(400, "SerializationException", "Could not parse the request body: %v", err)
	}
	name, _ := str(in, "logGroupName")
	if id, ok := str(in, "logGroupIdentifier"); ok && name == "" {
		name = id
		if strings.HasPrefix(id, "arn:") {
			name = logGroupOfArn(id)
		}
	}
	arn, _ := str(in, "resourceArn")
	if arn != "" {
		name = logGroupOfArn(arn)
	}
	run := map[string]func() (reply, *apiError){
		"CreateLogGroup":        func() (reply, *apiError) { return x.create(name, in) },
		"DescribeLogGroups":     func() (reply, *apiError) { return x.describe(in) },
		"DeleteLogGroup":        func() (reply, *apiError) { return x.delete(name) },
		"PutRetentionPolicy":    func() (reply, *apiError) { return x.putRetention(name, in) },
		"DeleteRetentionPolicy": func() (reply, *apiError) { return x.deleteRetention(name) },
		"ListTagsForResource":   func() (reply, *apiError) { return x.listTags(name, arn) },
		"ListTagsLogGroup":      func() (reply, *apiError) { return x.listTags(name, "") },
		"TagResource":           func() (reply, *apiError) { return x.tag(name, arn, in) },
		"TagLogGroup":           func() (reply, *apiError) { return x.tag(name, "", in) },
		"UntagResource":         func() (reply, *apiError) { return x.untag(name, arn, in, "tagKeys") },
		"UntagLogGroup":         func() (reply, *apiError) { return x.untag(name, "", in, "tags") },
		"CreateLogStream":       func() (reply, *apiError) { return x.createStream(name, in) },
		"DescribeLogStreams":    func() (reply, *apiError) { return x.describeStreams(name, in) },
		"PutLogEvents":          func() (reply, *apiError) { return x.putEvents(name, in) },
		"FilterLogEvents":       func() (reply, *apiError) { return x.filterEvents(name, in) },
	}[action]
	if run == nil {
		return op{action: action, resource: name}, errf(400, "UnknownOperationException", "awstest: unsupported CloudWatch Logs operation %q", action)
	}
	return op{action, name, run}, nil
}

func (x logsService) group(name string) (*logGroup, *apiError) {
	if g := x.s.groups[name]; g != nil {
		return g, nil
	}
	return nil, errf(400, "ResourceNotFoundException", "The specified log group does not exist.")
}

func (x logsService) create(name string, in map[string]json.RawMessage) (reply, *apiError) {
	if name == "" || len(name) > 512 {
		return reply{}, errf(400, "InvalidParameterException", "1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must have length between 1 and 512", name)
	}
	if x.s.groups[name] != nil {
		return reply{}, errf(400, "ResourceAlreadyExistsException", "The specified log group already exists")
	}
	g := &logGroup{name: name, created: x.s.requestTime(), class: "STANDARD", tags: map[string]string{}, streams: map[string]*logStream{}}
	_ = json.Unmarshal(in["tags"], &g.tags)
	if g.tags == nil {
		g.tags = map[string]string{}
	}
	if c, ok := str(in, "logGroupClass"); ok && c != "" {
		g.class = c
	}
	g.kmsKeyID, _ = str(in, "kmsKeyId")
	x.s.groups[name] = g
	return json11(map[string]any{})
}

func (x logsService) groupJSON(g *logGroup) map[string]any {
	arn := x.s.logGroupArn(g.name)
	out := map[string]any{"logGroupName": g.name, "arn": arn + ":*", "logGroupArn": arn, "creationTime": g.created.UnixMilli(),
		"storedBytes": 0, "metricFilterCount": 0, "logGroupClass": g.class}
	if g.retention > 0 {
		out["retentionInDays"] = g.retention
	}
	if g.kmsKeyID != "" {
		out["kmsKeyId"] = g.kmsKeyID
	}
	return out
}

func (x logsService) describe(in map[string]json.RawMessage) (reply, *apiError) {
	prefix, hasPrefix := str(in, "logGroupNamePrefix")
	pattern, hasPattern := str(in, "logGroupNamePattern")
	if hasPrefix && hasPattern {
		return reply{}, errf(400, "InvalidParameterException", "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	var gs []*logGroup
	for _, n := range sortedKeys(x.s.groups) {
		if strings.HasPrefix(n, prefix) && strings.Contains(strings.ToLower(n), strings.ToLower(pattern)) {
			gs = append(gs, x.s.groups[n])
		}
	}
	tok, _ := str(in, "nextToken")
	limit, _ := num(in, "limit")
	lo, hi, next, ok := paginate(len(gs), func(i int) string { return gs[i].name }, tok, int(limit), 50, 50)
	if !ok {
		return reply{}, errf(400, "InvalidParameterException", "The specified nextToken is invalid.")
	}
	list := []map[string]any{}
	for _, g := range gs[lo:hi] {
		list = append(list, x.groupJSON(g))
	}
	out := map[string]any{"logGroups": list}
	if next != "" {
		out["nextToken"] = next
	}
	return json11(out)
}

func (x logsService) delete(name string) (reply, *apiError) {
	if _, e := x.group(name); e != nil {
		return reply{}, e
	}
	delete(x.s.groups, name)
	return json11(map[string]any{})
}

func (x logsService) putRetention(name string, in map[string]json.RawMessage) (reply, *apiError) {
	g, e := x.group(name)
	if e != nil {
		return reply{}, e
	}
	days, _ := num(in, "retentionInDays")
	if !slices.Contains(retentionDays, int(days)) {
		return reply{}, errf(400, "InvalidParameterException", "1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: %v", days, retentionDays)
	}
	g.retention = int(days)
	return json11(map[string]any{})
}

func (x logsService) deleteRetention(name string) (reply, *apiError) {
	g, e := x.group(name)
	if e != nil {
		return reply{}, e
	}
	g.retention = 0
	return json11(map[string]any{})
}

func (x logsService) groupForTags(name, arn string) (*logGroup, *apiError) {
	if arn != "" && !strings.HasPrefix(arn, "arn:aws:logs:") {
		return nil, errf(400, "InvalidParameterException", "Invalid resourceArn: %s", arn)
	}
	return x.group(name)
}

func (x logsService) listTags(name, arn string) (reply, *apiError) {
	g, e := x.groupForTags(name, arn)
	if e != nil {
		return reply{}, e
	}
	return json11(map[string]any{"tags": g.tags})
}

func (x logsService) tag(name, arn string, in map[string]json.RawMessage) (reply, *apiError) {
	g, e := x.groupForTags(name, arn)
	if e != nil {
		return reply{}, e
	}
	var tags map[string]string
	_ = json.Unmarshal(in["tags"], &tags)
	maps.Copy(g.tags, tags)
	return json11(map[string]any{})
}

func (x logsService) untag(name, arn string, in map[string]json.RawMessage, field string) (reply, *apiError) {
	g, e := x.groupForTags(name, arn)
	if e != nil {
		return reply{}, e
	}
	var keys []string
	_ = json.Unmarshal(in[field], &keys)
	for _, k := range keys {
		delete(g.tags, k)
	}
	return json11(map[string]any{})
}

// LogGroupState is a snapshot of a log group.
type LogGroupState struct {
	Name          string
	ARN           string
	RetentionDays int // 0: never expire
	Tags          map[string]string
}

// LogGroup returns a snapshot of a log group.
func (s *Server) LogGroup(name string) (LogGroupState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[name]
	if g == nil {
		return LogGroupState{}, false
	}
	return LogGroupState{Name: g.name, ARN: s.logGroupArn(g.name), RetentionDays: g.retention, Tags: copyTags(g.tags)}, true
}

// LogGroupNames lists the log groups, sorted.
func (s *Server) LogGroupNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.groups)
}

// SeedLogGroup creates a log group directly, no call recorded.
func (s *Server) SeedLogGroup(name string, retentionDays int, tags map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[name] = &logGroup{name: name, created: s.requestTime(), retention: retentionDays, tags: copyTags(tags), class: "STANDARD",
		streams: map[string]*logStream{}}
}

func (x logsService) createStream(group string, in map[string]json.RawMessage) (reply, *apiError) {
	g, e := x.group(group)
	if e != nil {
		return reply{}, e
	}
	name, _ := str(in, "logStreamName")
	if name == "" || strings.ContainsAny(name, ":*") {
		return reply{}, errf(400, "InvalidParameterException", "1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", name)
	}
	if g.streams[name] != nil {
		return reply{}, errf(400, "ResourceAlreadyExistsException", "The specified log stream already exists")
	}
	g.streams[name] = &logStream{name: name, created: x.s.requestTime()}
	return json11(map[string]any{})
}

func (x logsService) describeStreams(group string, in map[string]json.RawMessage) (reply, *apiError) {
	g, e := x.group(group)
	if e != nil {
		return reply{}, e
	}
	prefix, _ := str(in, "logStreamNamePrefix")
	var ss []*logStream
	for _, n := range sortedKeys(g.streams) {
		if strings.HasPrefix(n, prefix) {
			ss = append(ss, g.streams[n])
		}
	}
	tok, _ := str(in, "nextToken")
	limit, _ := num(in, "limit")
	lo, hi, next, ok := paginate(len(ss), func(i int) string { return ss[i].name }, tok, int(limit), 50, 50)
	if !ok {
		return reply{}, errf(400, "InvalidParameterException", "The specified nextToken is invalid.")
	}
	list := []map[string]any{}
	for _, st := range ss[lo:hi] {
		m := map[string]any{"logStreamName": st.name, "creationTime": st.created.UnixMilli(),
			"arn": x.s.logGroupArn(g.name) + ":log-stream:" + st.name, "storedBytes": 0}
		if n := len(st.events); n > 0 {
			m["firstEventTimestamp"], m["lastEventTimestamp"] = st.events[0].Timestamp, st.events[n-1].Timestamp
			m["lastIngestionTime"] = st.created.UnixMilli()
		}
		list = append(list, m)
	}
	out := map[string]any{"logStreams": list}
	if next != "" {
		out["nextToken"] = next
	}
	return json11(out)
}

func (x logsService) putEvents(group string, in map[string]json.RawMessage) (reply, *apiError) {
	g, e := x.group(group)
	if e != nil {
		return reply{}, e
	}
	name, _ := str(in, "logStreamName")
	st := g.streams[name]
	if st == nil {
		return reply{}, errf(400, "ResourceNotFoundException", "The specified log stream does not exist.")
	}
	var events []struct {
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	_ = json.Unmarshal(in["logEvents"], &events)
	if len(events) == 0 || len(events) > 10000 {
		return reply{}, errf(400, "InvalidParameterException", "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length between 1 and 10000")
	}
	for i := 1; i < len(events); i++ {
		if events[i].Timestamp < events[i-1].Timestamp {
			return reply{}, errf(400, "InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	for _, ev := range events {
		x.s.appendLog(g, st, ev.Timestamp, ev.Message)
	}
	return json11(map[string]any{"nextSequenceToken": fmt.Sprintf("%056d", len(st.events))})
}

func (s *Server) appendLog(g *logGroup, st *logStream, ts int64, msg string) {
	s.seq++
	st.events = append(st.events, LogEvent{Stream: st.name, Timestamp: ts, Message: msg, ID: fmt.Sprintf("%056d", s.seq)})
}

// matchFilter applies a CloudWatch Logs text filter pattern: every term
// must appear ("quoted phrases" too), ?term makes terms alternatives, -term
// excludes. JSON and space-delimited patterns are not supported.
func matchFilter(pattern, msg string) bool {
	var all, any, none []string
	for rest := strings.TrimSpace(pattern); rest != ""; rest = strings.TrimSpace(rest) {
		kind := byte(0)
		if rest[0] == '?' || rest[0] == '-' {
			kind, rest = rest[0], rest[1:]
		}
		var term string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				term, rest = rest[1:], ""
			} else {
				term, rest = rest[1:end+1], rest[end+2:]
			}
		} else {
			term, rest, _ = strings.Cut(rest, " ")
		}
		switch kind {
		case '?':
			any = append(any, term)
		case '-':
			none = append(none, term)
		default:
			all = append(all, term)
		}
	}
	for _, t := range all {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	for _, t := range none {
		if strings.Contains(msg, t) {
			return false
		}
	}
	if len(any) > 0 {
		return slices.ContainsFunc(any, func(t string) bool { return strings.Contains(msg, t) })
	}
	return true
}

func (x logsService) filterEvents(group string, in map[string]json.RawMessage) (reply, *apiError) {
	g, e := x.group(group)
	if e != nil {
		return reply{}, e
	}
	pattern, _ := str(in, "filterPattern")
	if p := strings.TrimSpace(pattern); strings.HasPrefix(p, "{") || strings.HasPrefix(p, "[") {
		return reply{}, errf(400, "InvalidParameterException", "awstest: only text filter patterns are supported, not %q", pattern)
	}
	var names []string
	_ = json.Unmarshal(in["logStreamNames"], &names)
	prefix, _ := str(in, "logStreamNamePrefix")
	start, hasStart := num(in, "startTime")
	end, hasEnd := num(in, "endTime")
	var evs []LogEvent
	for _, n := range sortedKeys(g.streams) {
		if (len(names) > 0 && !slices.Contains(names, n)) || !strings.HasPrefix(n, prefix) {
			continue
		}
		for _, ev := range g.streams[n].events {
			if (hasStart && ev.Timestamp < start) || (hasEnd && ev.Timestamp > end) || !matchFilter(pattern, ev.Message) {
				continue
			}
			evs = append(evs, ev)
		}
	}
	slices.SortStableFunc(evs, func(a, b LogEvent) int {
		if a.Timestamp != b.Timestamp {
			return cmp.Compare(a.Timestamp, b.Timestamp)
		}
		return strings.Compare(a.ID, b.ID)
	})
	tok, _ := str(in, "nextToken")
	limit, _ := num(in, "limit")
	lo, hi, next, ok := paginate(len(evs), func(i int) string { return fmt.Sprintf("%020d/%s", evs[i].Timestamp, evs[i].ID) }, tok, int(limit), 10000, 10000)
	if !ok {
		return reply{}, errf(400, "InvalidParameterException", "The specified nextToken is invalid.")
	}
	list := []map[string]any{}
	for _, ev := range evs[lo:hi] {
		list = append(list, map[string]any{"logStreamName": ev.Stream, "timestamp": ev.Timestamp, "message": ev.Message,
			"ingestionTime": ev.Timestamp, "eventId": ev.ID})
	}
	out := map[string]any{"events": list, "searchedLogStreams": []any{}}
	if next != "" {
		out["nextToken"] = next
	}
	return json11(out)
}

// LogEvents returns a log group's events, all streams, oldest first.
func (s *Server) LogEvents(group string) []LogEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[group]
	if g == nil {
		return nil
	}
	var out []LogEvent
	for _, n := range sortedKeys(g.streams) {
		out = append(out, g.streams[n].events...)
	}
	slices.SortStableFunc(out, func(a, b LogEvent) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	return out
}

// SeedLogEvents appends events to a stream, creating the group and the
// stream when missing. Events keep their Stream field only for reading.
func (s *Server) SeedLogEvents(group, stream string, events ...LogEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[group]
	if g == nil {
		g = &logGroup{name: group, created: s.requestTime(), tags: map[string]string{}, class: "STANDARD", streams: map[string]*logStream{}}
		s.groups[group] = g
	}
	st := g.streams[stream]
	if st == nil {
		st = &logStream{name: stream, created: s.requestTime()}
		g.streams[stream] = st
	}
	for _, ev := range events {
		s.appendLog(g, st, ev.Timestamp, ev.Message)
	}
}

// lambdaLog writes an invocation's log lines to /aws/lambda/<function> when
// that group exists, in a stream per version, as Lambda does.
func (s *Server) lambdaLog(function, version string, at time.Time, lines []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups["/aws/lambda/"+function]
	if g == nil {
		return
	}
	name := at.UTC().Format("2006/01/02") + "/[" + version + "]awstest"
	st := g.streams[name]
	if st == nil {
		st = &logStream{name: name, created: at}
		g.streams[name] = st
	}
	for _, l := range lines {
		s.appendLog(g, st, at.UnixMilli(), l)
	}
}
