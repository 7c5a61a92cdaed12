package awstest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
)

type bus struct {
	name, arn   string
	description string
	created     time.Time
	tags        []Tag
	rules       map[string]*ebRule
	events      []Event
}

type ebRule struct {
	name, arn, bus string
	pattern        string
	schedule       string
	state          string
	description    string
	roleArn        string
	tags           []Tag
	targets        []map[string]json.RawMessage // as sent, in Id order
}

// Event is an entry PutEvents accepted (or, given to the failure func, is
// about to accept).
type Event struct {
	Bus         string // bus name
	ID          string // EventId ("" before acceptance)
	Source      string
	DetailType  string
	Detail      string
	Resources   []string
	Time        time.Time // zero when the entry had none
	TraceHeader string
}

// Target is a rule target.
type Target struct {
	ID        string
	Arn       string
	Input     string
	InputPath string
	RoleArn   string
	Raw       string // the target's JSON as sent
}

func targetOf(m map[string]json.RawMessage) Target {
	t := Target{Raw: string(jsonBody(m))}
	t.ID, _ = str(m, "Id")
	t.Arn, _ = str(m, "Arn")
	t.Input, _ = str(m, "Input")
	t.InputPath, _ = str(m, "InputPath")
	t.RoleArn, _ = str(m, "RoleArn")
	return t
}

// SetPutEventsFailure sets a function that may fail PutEvents entries: a
// non-empty code fails the entry with that ErrorCode and message (e.g.
// "ThrottlingException", "InternalFailure"). nil accepts every valid entry.
func (s *Server) SetPutEventsFailure(f func(e Event) (code, message string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putEventsFail = f
}

// SetPutTargetsFailure sets a function that may fail PutTargets entries, as
// SetPutEventsFailure does for events.
func (s *Server) SetPutTargetsFailure(f func(bus, rule string, t Target) (code, message string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putTargetFail = f
}

func (s *Server) newBus(name string, tags []Tag) *bus {
	return &bus{name: name, arn: fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", s.region, s.account, name),
		created: s.requestTime(), tags: tags, rules: map[string]*ebRule{}}
}

func (s *Server) ruleArn(busName, name string) string {
	if busName == "default" {
		return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", s.region, s.account, name)
	}
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s/%s", s.region, s.account, busName, name)
}

// busName turns a bus name or ARN ("" is default) into a name.
func busName(v string) string {
	if v == "" {
		return "default"
	}
	if i := strings.Index(v, ":event-bus/"); i >= 0 && strings.HasPrefix(v, "arn:") {
		return v[i+len(":event-bus/"):]
	}
	return v
}

type eventsService struct{ s *Server }

func jsonError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(e.Status)
	w.Write(jsonBody(map[string]string{"__type": e.Code, "message": e.Message}))
}

func (eventsService) writeError(w http.ResponseWriter, _ string, e *apiError, _ string) {
	jsonError(w, e)
}

func json11(v any) (reply, *apiError) {
	return reply{status: 200, contentType: "application/x-amz-json-1.1", body: jsonBody(v)}, nil
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (x eventsService) parse(r *http.Request, body []byte) (op, *apiError) {
	action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSEvents.")
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil && len(body) > 0 {
		return op{action: action}, errf(400, "SerializationException", "Could not parse the request body: %v", err)
	}
	name, _ := str(in, "Name")
	bn, _ := str(in, "EventBusName")
	bn = busName(bn)
	rule, _ := str(in, "Rule")
	resARN, _ := str(in, "ResourceARN")
	run := map[string]struct {
		res string
		f   func() (reply, *apiError)
	}{
		"CreateEventBus":      {name, func() (reply, *apiError) { return x.createBus(name, in) }},
		"DescribeEventBus":    {busName(name), func() (reply, *apiError) { return x.describeBus(busName(name)) }},
		"DeleteEventBus":      {name, func() (reply, *apiError) { return x.deleteBus(name) }},
		"ListEventBuses":      {"", func() (reply, *apiError) { return x.listBuses(in) }},
		"PutRule":             {bn + "/" + name, func() (reply, *apiError) { return x.putRule(bn, name, in) }},
		"DescribeRule":        {bn + "/" + name, func() (reply, *apiError) { return x.describeRule(bn, name) }},
		"ListRules":           {bn, func() (reply, *apiError) { return x.listRules(bn, in) }},
		"DeleteRule":          {bn + "/" + name, func() (reply, *apiError) { return x.deleteRule(bn, name) }},
		"EnableRule":          {bn + "/" + name, func() (reply, *apiError) { return x.setRuleState(bn, name, "ENABLED") }},
		"DisableRule":         {bn + "/" + name, func() (reply, *apiError) { return x.setRuleState(bn, name, "DISABLED") }},
		"PutTargets":          {bn + "/" + rule, func() (reply, *apiError) { return x.putTargets(bn, rule, in) }},
		"RemoveTargets":       {bn + "/" + rule, func() (reply, *apiError) { return x.removeTargets(bn, rule, in) }},
		"ListTargetsByRule":   {bn + "/" + rule, func() (reply, *apiError) { return x.listTargets(bn, rule, in) }},
		"TagResource":         {x.arnResource(resARN), func() (reply, *apiError) { return x.tagResource(resARN, in) }},
		"UntagResource":       {x.arnResource(resARN), func() (reply, *apiError) { return x.untagResource(resARN, in) }},
		"ListTagsForResource": {x.arnResource(resARN), func() (reply, *apiError) { return x.listTags(resARN) }},
		"PutEvents":           {x.eventsBus(in), func() (reply, *apiError) { return x.putEvents(in) }},
	}[action]
	if run.f == nil {
		return op{action: action}, errf(400, "UnknownOperationException", "awstest: unsupported EventBridge operation %q", action)
	}
	return op{action, run.res, run.f}, nil
}

func (x eventsService) eventsBus(in map[string]json.RawMessage) string {
	var entries []struct{ EventBusName string }
	_ = json.Unmarshal(in["Entries"], &entries)
	if len(entries) == 0 {
		return ""
	}
	return busName(entries[0].EventBusName)
}

// arnResource names a taggable resource for Call.Resource: "bus" or "bus/rule".
func (x eventsService) arnResource(arn string) string {
	if i := strings.Index(arn, ":rule/"); i >= 0 {
		r := arn[i+len(":rule/"):]
		if !strings.Contains(r, "/") {
			r = "default/" + r
		}
		return r
	}
	return busName(arn)
}

func (x eventsService) bus(name string) (*bus, *apiError) {
	if b := x.s.buses[name]; b != nil {
		return b, nil
	}
	return nil, errf(400, "ResourceNotFoundException", "Event bus %s does not exist.", name)
}

func (x eventsService) rule(busName, name string) (*ebRule, *apiError) {
	b, e := x.bus(busName)
	if e != nil {
		return nil, e
	}
	if r := b.rules[name]; r != nil {
		return r, nil
	}
	return nil, errf(400, "ResourceNotFoundException", "Rule %s does not exist on EventBus %s.", name, busName)
}

func jsonTags(in map[string]json.RawMessage, k string) []Tag {
	var tags []Tag
	_ = json.Unmarshal(in[k], &tags)
	return tags
}

func tagsJSON(tags []Tag) []map[string]string {
	out := []map[string]string{}
	for _, t := range tags {
		out = append(out, map[string]string{"Key": t.Key, "Value": t.Value})
	}
	return out
}

func (x eventsService) createBus(name string, in map[string]json.RawMessage) (reply, *apiError) {
	if name == "" || strings.Contains(name, "/") {
		return reply{}, errf(400, "ValidationException", "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+", name)
	}
	if x.s.buses[name] != nil {
		return reply{}, errf(400, "ResourceAlreadyExistsException", "Event bus %s already exists.", name)
	}
	b := x.s.newBus(name, jsonTags(in, "Tags"))
	b.description, _ = str(in, "Description")
	x.s.buses[name] = b
	return json11(map[string]string{"EventBusArn": b.arn})
}

func (x eventsService) busJSON(b *bus) map[string]any {
	out := map[string]any{"Name": b.name, "Arn": b.arn, "CreationTime": epoch(b.created), "LastModifiedTime": epoch(b.created)}
	if b.description != "" {
		out["Description"] = b.description
	}
	return out
}

func (x eventsService) describeBus(name string) (reply, *apiError) {
	b, e := x.bus(name)
	if e != nil {
		return reply{}, e
	}
	return json11(x.busJSON(b))
}

func (x eventsService) deleteBus(name string) (reply, *apiError) {
	if name == "default" {
		return reply{}, errf(400, "ValidationException", "Cannot delete event bus default.")
	}
	b := x.s.buses[name]
	if b != nil && len(b.rules) > 0 {
		return reply{}, errf(400, "ValidationException", "Event bus %s has rules; delete them first.", name)
	}
	delete(x.s.buses, name) // deleting a missing bus succeeds, as in EventBridge
	return json11(map[string]any{})
}

func limitOf(in map[string]json.RawMessage) int {
	n, _ := num(in, "Limit")
	return int(n)
}

func (x eventsService) listBuses(in map[string]json.RawMessage) (reply, *apiError) {
	prefix, _ := str(in, "NamePrefix")
	var bs []*bus
	for _, n := range sortedKeys(x.s.buses) {
		if strings.HasPrefix(n, prefix) {
			bs = append(bs, x.s.buses[n])
		}
	}
	tok, _ := str(in, "NextToken")
	lo, hi, next, ok := paginate(len(bs), func(i int) string { return bs[i].name }, tok, limitOf(in), 100, 100)
	if !ok {
		return reply{}, errf(400, "ValidationException", "The NextToken provided is invalid.")
	}
	list := []map[string]any{}
	for _, b := range bs[lo:hi] {
		list = append(list, x.busJSON(b))
	}
	out := map[string]any{"EventBuses": list}
	if next != "" {
		out["NextToken"] = next
	}
	return json11(out)
}

// validPattern checks an event pattern as EventBridge does in outline: a
// JSON object whose leaves are arrays.
func validPattern(p string) *apiError {
	var v any
	if err := json.Unmarshal([]byte(p), &v); err != nil {
		return errf(400, "InvalidEventPatternException", "Event pattern is not valid. Reason: %v", err)
	}
	var walk func(path string, v any) string
	walk = func(path string, v any) string {
		switch t := v.(type) {
		case map[string]any:
			if len(t) == 0 {
				return fmt.Sprintf("Empty objects are not allowed at %q", path)
			}
			for _, k := range sortedKeys(t) {
				if r := walk(strings.TrimPrefix(path+"."+k, "."), t[k]); r != "" {
					return r
				}
			}
		case []any:
		default:
			return fmt.Sprintf("%q must be an object or an array", path)
		}
		return ""
	}
	if _, ok := v.(map[string]any); !ok {
		return errf(400, "InvalidEventPatternException", "Event pattern is not valid. Reason: Filter is not an object")
	}
	if r := walk("", v); r != "" {
		return errf(400, "InvalidEventPatternException", "Event pattern is not valid. Reason: %s", r)
	}
	return nil
}

func (x eventsService) putRule(busName, name string, in map[string]json.RawMessage) (reply, *apiError) {
	b, e := x.bus(busName)
	if e != nil {
		return reply{}, e
	}
	if name == "" || len(name) > 64 {
		return reply{}, errf(400, "ValidationException", "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must have length less than or equal to 64", name)
	}
	pattern, hasPattern := str(in, "EventPattern")
	schedule, hasSchedule := str(in, "ScheduleExpression")
	if !hasPattern && !hasSchedule {
		return reply{}, errf(400, "ValidationException", "Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	if hasSchedule && busName != "default" {
		return reply{}, errf(400, "ValidationException", "ScheduleExpression is supported only on the default event bus.")
	}
	if hasPattern {
		if e := validPattern(pattern); e != nil {
			return reply{}, e
		}
	}
	state, _ := str(in, "State")
	if state == "" {
		state = "ENABLED"
	}
	if state != "ENABLED" && state != "DISABLED" && state != "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" {
		return reply{}, errf(400, "ValidationException", "1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]", state)
	}
	r := b.rules[name]
	if r == nil {
		r = &ebRule{name: name, bus: busName, arn: x.s.ruleArn(busName, name), tags: jsonTags(in, "Tags")}
		b.rules[name] = r
	}
	// PutRule replaces the rule's settings but never its tags or targets.
	r.pattern, r.schedule, r.state = pattern, schedule, state
	r.description, _ = str(in, "Description")
	r.roleArn, _ = str(in, "RoleArn")
	return json11(map[string]string{"RuleArn": r.arn})
}

func (x eventsService) ruleJSON(r *ebRule) map[string]any {
	out := map[string]any{"Name": r.name, "Arn": r.arn, "State": r.state, "EventBusName": r.bus}
	for k, v := range map[string]string{"EventPattern": r.pattern, "ScheduleExpression": r.schedule, "Description": r.description, "RoleArn": r.roleArn} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func (x eventsService) describeRule(busName, name string) (reply, *apiError) {
	r, e := x.rule(busName, name)
	if e != nil {
		return reply{}, e
	}
	out := x.ruleJSON(r)
	out["CreatedBy"] = x.s.account
	return json11(out)
}

func (x eventsService) listRules(busName string, in map[string]json.RawMessage) (reply, *apiError) {
	b, e := x.bus(busName)
	if e != nil {
		return reply{}, e
	}
	prefix, _ := str(in, "NamePrefix")
	var rs []*ebRule
	for _, n := range sortedKeys(b.rules) {
		if strings.HasPrefix(n, prefix) {
			rs = append(rs, b.rules[n])
		}
	}
	tok, _ := str(in, "NextToken")
	lo, hi, next, ok := paginate(len(rs), func(i int) string { return rs[i].name }, tok, limitOf(in), 100, 100)
	if !ok {
		return reply{}, errf(400, "ValidationException", "The NextToken provided is invalid.")
	}
	list := []map[string]any{}
	for _, r := range rs[lo:hi] {
		list = append(list, x.ruleJSON(r))
	}
	out := map[string]any{"Rules": list}
	if next != "" {
		out["NextToken"] = next
	}
	return json11(out)
}

func (x eventsService) deleteRule(busName, name string) (reply, *apiError) {
	b, e := x.bus(busName)
	if e != nil {
		return reply{}, e
	}
	r := b.rules[name]
	if r == nil {
		return json11(map[string]any{}) // deleting a missing rule succeeds
	}
	if len(r.targets) > 0 {
		return reply{}, errf(400, "ValidationException", "Rule can't be deleted since it has targets.")
	}
	delete(b.rules, name)
	return json11(map[string]any{})
}

func (x eventsService) setRuleState(busName, name, state string) (reply, *apiError) {
	r, e := x.rule(busName, name)
	if e != nil {
		return reply{}, e
	}
	r.state = state
	return json11(map[string]any{})
}

// maxTargets is EventBridge's limit of targets per rule.
const maxTargets = 5

func (x eventsService) putTargets(busName, rule string, in map[string]json.RawMessage) (reply, *apiError) {
	r, e := x.rule(busName, rule)
	if e != nil {
		return reply{}, e
	}
	var targets []map[string]json.RawMessage
	_ = json.Unmarshal(in["Targets"], &targets)
	if len(targets) == 0 || len(targets) > 10 {
		return reply{}, errf(400, "ValidationException", "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10")
	}
	failed := []map[string]string{}
	for _, t := range targets {
		tg := targetOf(t)
		fail := func(code, msg string) {
			failed = append(failed, map[string]string{"TargetId": tg.ID, "ErrorCode": code, "ErrorMessage": msg})
		}
		i := slices.IndexFunc(r.targets, func(m map[string]json.RawMessage) bool { return targetOf(m).ID == tg.ID })
		switch {
		case tg.ID == "" || tg.Arn == "":
			fail("ValidationException", "Parameter(s) Id and Arn must be specified for each target.")
			continue
		case !strings.HasPrefix(tg.Arn, "arn:"):
			fail("ValidationException", fmt.Sprintf("Parameter %s is not valid.", tg.Arn))
			continue
		case i < 0 && len(r.targets) >= maxTargets:
			return reply{}, errf(400, "LimitExceededException", "The requested resource exceeds the maximum number allowed.")
		}
		if x.s.putTargetFail != nil {
			if code, msg := x.s.putTargetFail(busName, rule, tg); code != "" {
				fail(code, msg)
				continue
			}
		}
		if i >= 0 {
			r.targets[i] = t
		} else {
			r.targets = append(r.targets, t)
		}
	}
	slices.SortFunc(r.targets, func(a, b map[string]json.RawMessage) int { return strings.Compare(targetOf(a).ID, targetOf(b).ID) })
	return json11(map[string]any{"FailedEntryCount": len(failed), "FailedEntries": failed})
}

func (x eventsService) removeTargets(busName, rule string, in map[string]json.RawMessage) (reply, *apiError) {
	r, e := x.rule(busName, rule)
	if e != nil {
		return reply{}, e
	}
	var ids []string
	_ = json.Unmarshal(in["Ids"], &ids)
	r.targets = slices.DeleteFunc(r.targets, func(m map[string]json.RawMessage) bool { return slices.Contains(ids, targetOf(m).ID) })
	return json11(map[string]any{"FailedEntryCount": 0, "FailedEntries": []any{}})
}

func (x eventsService) listTargets(busName, rule string, in map[string]json.RawMessage) (reply, *apiError) {
	r, e := x.rule(busName, rule)
	if e != nil {
		return reply{}, e
	}
	tok, _ := str(in, "NextToken")
	lo, hi, next, ok := paginate(len(r.targets), func(i int) string { return targetOf(r.targets[i]).ID }, tok, limitOf(in), 100, 100)
	if !ok {
		return reply{}, errf(400, "ValidationException", "The NextToken provided is invalid.")
	}
	out := map[string]any{"Targets": append([]map[string]json.RawMessage{}, r.targets[lo:hi]...)}
	if next != "" {
		out["NextToken"] = next
	}
	return json11(out)
}

// taggable finds the tags of a bus or rule ARN.
func (x eventsService) taggable(arn string) (*[]Tag, *apiError) {
	res := x.arnResource(arn)
	if !strings.HasPrefix(arn, "arn:aws:events:") {
		return nil, errf(400, "ValidationException", "Parameter ResourceARN is not valid: %s", arn)
	}
	if strings.Contains(arn, ":rule/") {
		bn, name, _ := strings.Cut(res, "/")
		r, e := x.rule(bn, name)
		if e != nil {
			return nil, e
		}
		return &r.tags, nil
	}
	b, e := x.bus(res)
	if e != nil {
		return nil, e
	}
	return &b.tags, nil
}

func (x eventsService) tagResource(arn string, in map[string]json.RawMessage) (reply, *apiError) {
	tags, e := x.taggable(arn)
	if e != nil {
		return reply{}, e
	}
	*tags = setTags(*tags, jsonTags(in, "Tags"))
	return json11(map[string]any{})
}

func (x eventsService) untagResource(arn string, in map[string]json.RawMessage) (reply, *apiError) {
	tags, e := x.taggable(arn)
	if e != nil {
		return reply{}, e
	}
	var keys []string
	_ = json.Unmarshal(in["TagKeys"], &keys)
	*tags = removeTags(*tags, keys)
	return json11(map[string]any{})
}

func (x eventsService) listTags(arn string) (reply, *apiError) {
	tags, e := x.taggable(arn)
	if e != nil {
		return reply{}, e
	}
	return json11(map[string]any{"Tags": tagsJSON(*tags)})
}

// maxPutEventsSize is EventBridge's limit on the entries of one PutEvents (256 KB).
const maxPutEventsSize = 256 * 1024

func (x eventsService) putEvents(in map[string]json.RawMessage) (reply, *apiError) {
	var entries []struct {
		Source, DetailType, Detail, EventBusName, TraceHeader *string
		Resources                                             []string
		Time                                                  *float64
	}
	if err := json.Unmarshal(in["Entries"], &entries); err != nil {
		return reply{}, errf(400, "SerializationException", "Entries: %v", err)
	}
	if len(entries) == 0 || len(entries) > 10 {
		return reply{}, errf(400, "ValidationException", "1 validation error detected: Value '%d' at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1", len(entries))
	}
	size := 0
	for _, e := range entries {
		for _, p := range []*string{e.Source, e.DetailType, e.Detail} {
			if p != nil {
				size += len(*p)
			}
		}
		for _, r := range e.Resources {
			size += len(r)
		}
		if e.Time != nil {
			size += 14
		}
	}
	if size > maxPutEventsSize {
		return reply{}, errf(400, "ValidationException", "Total size of the entries in the request is over the limit.")
	}
	s := x.s
	results := []map[string]string{}
	failed := 0
	var deliveries []Delivery
	for _, e := range entries {
		ev := Event{Bus: busName(deref(e.EventBusName)), Source: deref(e.Source), DetailType: deref(e.DetailType),
			Detail: deref(e.Detail), Resources: e.Resources, TraceHeader: deref(e.TraceHeader)}
		if e.Time != nil {
			sec, frac := math.Modf(*e.Time)
			ev.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
		}
		code, msg := "", ""
		var detail map[string]any
		switch {
		case ev.Source == "":
			code, msg = "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
		case ev.DetailType == "":
			code, msg = "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
		case ev.Detail == "":
			code, msg = "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
		case json.Unmarshal([]byte(ev.Detail), &detail) != nil:
			code, msg = "MalformedDetail", "Detail is malformed."
		case s.buses[ev.Bus] == nil:
			code, msg = "ResourceNotFoundException", fmt.Sprintf("Event bus %s does not exist.", ev.Bus)
		case s.putEventsFail != nil:
			code, msg = s.putEventsFail(ev)
		}
		if code != "" {
			failed++
			results = append(results, map[string]string{"ErrorCode": code, "ErrorMessage": msg})
			continue
		}
		s.seq++
		ev.ID = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", s.seq, s.seq&0xffff, s.seq&0xfff, s.seq&0xfff, s.seq)
		b := s.buses[ev.Bus]
		b.events = append(b.events, ev)
		results = append(results, map[string]string{"EventId": ev.ID})
		deliveries = append(deliveries, s.deliveries(ev)...)
	}
	rep, e := json11(map[string]any{"FailedEntryCount": failed, "Entries": results})
	if f := s.deliver; len(deliveries) > 0 && e == nil {
		rep.then = func() (reply, *apiError) { s.startDeliveries(f, deliveries); return rep, nil }
	}
	return rep, e
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// BusState is a snapshot of an event bus.
type BusState struct {
	Name, ARN string
	Tags      map[string]string
	Rules     []string // rule names, sorted
}

// Bus returns a snapshot of a bus.
func (s *Server) Bus(name string) (BusState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buses[name]
	if b == nil {
		return BusState{}, false
	}
	return BusState{Name: b.name, ARN: b.arn, Tags: tagMap(b.tags), Rules: sortedKeys(b.rules)}, true
}

// BusNames lists the buses, sorted.
func (s *Server) BusNames() []string { s.mu.Lock(); defer s.mu.Unlock(); return sortedKeys(s.buses) }

// RuleState is a snapshot of a rule.
type RuleState struct {
	Name, ARN, Bus     string
	EventPattern       string
	ScheduleExpression string
	State              string
	Description        string
	Tags               map[string]string
	Targets            []Target
}

// Rule returns a snapshot of a rule on a bus ("" is default).
func (s *Server) Rule(bus, name string) (RuleState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buses[busName(bus)]
	if b == nil || b.rules[name] == nil {
		return RuleState{}, false
	}
	r := b.rules[name]
	out := RuleState{Name: r.name, ARN: r.arn, Bus: r.bus, EventPattern: r.pattern, ScheduleExpression: r.schedule,
		State: r.state, Description: r.description, Tags: tagMap(r.tags)}
	for _, t := range r.targets {
		out.Targets = append(out.Targets, targetOf(t))
	}
	return out, true
}

// Targets returns a rule's targets, sorted by ID.
func (s *Server) Targets(bus, rule string) []Target {
	r, _ := s.Rule(bus, rule)
	return r.Targets
}

// Events returns the events PutEvents accepted on a bus, in order.
func (s *Server) Events(bus string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buses[busName(bus)]
	if b == nil {
		return nil
	}
	return slices.Clone(b.events)
}

// RuleSpec seeds a rule.
type RuleSpec struct {
	Bus          string // "" is default; created when missing
	Name         string
	EventPattern string // default {"source":["awstest"]}
	State        string // default ENABLED
	Tags         map[string]string
	Targets      []Target // ID and Arn (and Input, RoleArn) are used
}

// SeedRule creates a rule (and its bus) directly, no call recorded.
func (s *Server) SeedRule(spec RuleSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bn := busName(spec.Bus)
	b := s.buses[bn]
	if b == nil {
		b = s.newBus(bn, nil)
		s.buses[bn] = b
	}
	r := &ebRule{name: spec.Name, bus: bn, arn: s.ruleArn(bn, spec.Name), pattern: spec.EventPattern, state: spec.State}
	if r.pattern == "" {
		r.pattern = `{"source":["awstest"]}`
	}
	if r.state == "" {
		r.state = "ENABLED"
	}
	for _, k := range sortedKeys(spec.Tags) {
		r.tags = append(r.tags, Tag{Key: k, Value: spec.Tags[k]})
	}
	for _, t := range spec.Targets {
		m := map[string]json.RawMessage{"Id": jsonBody(t.ID), "Arn": jsonBody(t.Arn)}
		if t.Input != "" {
			m["Input"] = jsonBody(t.Input)
		}
		if t.RoleArn != "" {
			m["RoleArn"] = jsonBody(t.RoleArn)
		}
		r.targets = append(r.targets, m)
	}
	b.rules[spec.Name] = r
}

// SeedBus creates a bus directly, no call recorded.
func (s *Server) SeedBus(name string, tags map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ts []Tag
	for _, k := range sortedKeys(tags) {
		ts = append(ts, Tag{Key: k, Value: tags[k]})
	}
	s.buses[name] = s.newBus(name, ts)
}
