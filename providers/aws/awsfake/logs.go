package awsfake

import (
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
	}[action]
	if run == nil {
		return op{action: action, resource: name}, errf(400, "UnknownOperationException", "awsfake: unsupported CloudWatch Logs operation %q", action)
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
	g := &logGroup{name: name, created: x.s.requestTime(), class: "STANDARD", tags: map[string]string{}}
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
	s.groups[name] = &logGroup{name: name, created: s.requestTime(), retention: retentionDays, tags: copyTags(tags), class: "STANDARD"}
}
