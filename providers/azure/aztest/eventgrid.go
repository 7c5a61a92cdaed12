package aztest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/evcli/evcli/providers/azure/eventgridfilter"
)

// Event Grid limits the fake enforces.
const (
	maxAdvancedFilters = 25
	maxFilterValues    = 25
	maxBatchBytes      = 1 << 20
)

var operators = map[string]bool{
	"NumberIn": true, "NumberNotIn": true, "NumberLessThan": true, "NumberGreaterThan": true,
	"NumberLessThanOrEquals": true, "NumberGreaterThanOrEquals": true, "NumberInRange": true, "NumberNotInRange": true,
	"BoolEquals": true, "StringIn": true, "StringNotIn": true, "StringBeginsWith": true, "StringNotBeginsWith": true,
	"StringEndsWith": true, "StringNotEndsWith": true, "StringContains": true, "StringNotContains": true,
	"IsNullOrUndefined": true, "IsNotNull": true,
}

func (s *Server) topicsAPI(method, base, name, rest string, in map[string]any) (int, any, *armError) {
	topic := s.topics[name]
	if rest == "" {
		switch method {
		case http.MethodGet:
			if topic == nil {
				return 0, nil, errf(404, "ResourceNotFound", "topic %s not found", name)
			}
			return 200, topic, nil
		case http.MethodPut:
			if !topicName.MatchString(name) {
				return 0, nil, errf(400, "InvalidTopicName", "topic name %q is not 3-50 letters, digits and hyphens", name)
			}
			props, _ := in["properties"].(map[string]any)
			schema, _ := props["inputSchema"].(string)
			if schema == "" {
				schema = "EventGridSchema"
			}
			if topic != nil && topic["properties"].(map[string]any)["inputSchema"] != schema {
				return 0, nil, errf(400, "InvalidRequest", "a topic's input schema cannot change")
			}
			res := map[string]any{"id": base + "/" + name, "name": name, "type": "Microsoft.EventGrid/topics", "location": in["location"],
				"tags": in["tags"], "properties": map[string]any{"inputSchema": schema, "provisioningState": "Succeeded",
					"endpoint": s.srv.URL + "/eventgrid/" + name + "/api/events"}}
			s.topics[name] = res
			return 201, res, nil // Event Grid answers a PUT with 201, create or update
		case http.MethodDelete:
			delete(s.topics, name)
			delete(s.subs, name)
			return 204, nil, nil
		}
		return 0, nil, errf(405, "MethodNotAllowed", "")
	}
	if topic == nil {
		return 0, nil, errf(404, "ResourceNotFound", "topic %s not found", name)
	}
	const subsPath = "/providers/Microsoft.EventGrid/eventSubscriptions"
	sub, ok := strings.CutPrefix(rest, subsPath)
	if !ok {
		return 0, nil, errf(404, "NotFound", "the fake has no topics/%s%s", name, rest)
	}
	sub = strings.TrimPrefix(sub, "/")
	subs := s.subs[name]
	if sub == "" {
		if method != http.MethodGet {
			return 0, nil, errf(405, "MethodNotAllowed", "")
		}
		list := []any{}
		for _, k := range slices.Sorted(mapsKeys(subs)) {
			list = append(list, subs[k])
		}
		return 200, map[string]any{"value": list}, nil
	}
	switch method {
	case http.MethodGet:
		if subs[sub] == nil {
			return 0, nil, errf(404, "ResourceNotFound", "event subscription %s not found", sub)
		}
		return 200, subs[sub], nil
	case http.MethodDelete:
		if subs[sub] == nil {
			return 204, nil, nil
		}
		delete(subs, sub)
		return 200, nil, nil
	case http.MethodPut:
		if !subName.MatchString(sub) {
			return 0, nil, errf(400, "InvalidEventSubscriptionName", "event subscription name %q is not 3-64 letters, digits and hyphens", sub)
		}
		props, _ := in["properties"].(map[string]any)
		dest, _ := props["destination"].(map[string]any)
		if dest["endpointType"] != "AzureFunction" {
			return 0, nil, errf(400, "InvalidDestination", "the fake delivers to AzureFunction destinations only, not %v", dest["endpointType"])
		}
		dp, _ := dest["properties"].(map[string]any)
		rid, _ := dp["resourceId"].(string)
		app, fn, ok := functionOf(rid)
		if !ok || s.sites[strings.ToLower(app)] == nil {
			return 0, nil, errf(400, "InvalidRequest", "destination %q is not a function of an existing function app", rid)
		}
		// Like Event Grid, which asks the app's host for the function:
		// a function the published package does not register is not
		// found, one with another trigger is refused.
		switch trigger, found := PackageFunctions(s.packages[strings.ToLower(app)])[fn]; {
		case !found:
			return 0, nil, errf(400, "Endpoint validation", "Destination endpoint not found. Resource details: resourceId: %s. Resource should pre-exist before attempting this operation.", rid)
		case !strings.EqualFold(trigger, "eventGridTrigger"):
			return 0, nil, errf(400, "Unsupported Azure Function Trigger", "Can't add resource; Azure Event Grid supports EventGrid Trigger type only.")
		}
		if e := validateFilter(props["filter"]); e != nil {
			return 0, nil, e
		}
		stored := map[string]any{}
		for k, v := range props {
			stored[k] = v
		}
		stored["provisioningState"], stored["topic"] = "Succeeded", base+"/"+name
		res := map[string]any{"id": base + "/" + name + rest, "name": sub, "type": "Microsoft.EventGrid/eventSubscriptions", "properties": stored}
		if subs == nil {
			subs = map[string]map[string]any{}
			s.subs[name] = subs
		}
		subs[sub] = res
		return 201, res, nil
	}
	return 0, nil, errf(405, "MethodNotAllowed", "")
}

// PackageFunctions are the functions a published package registers, by
// name, with their trigger's binding type, as the Functions host indexes
// them: the manifest evcli's entrypoint writes (.evcli/entry.json), else
// each <name>/function.json at the package's top. A nil package (nothing
// published) has none.
func PackageFunctions(pkg []byte) map[string]string {
	out := map[string]string{}
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return out
	}
	read := func(f *zip.File, v any) error {
		rc, err := f.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		return json.NewDecoder(rc).Decode(v)
	}
	for _, f := range zr.File {
		if f.Name == ".evcli/entry.json" {
			var m struct {
				Functions map[string]string `json:"functions"`
			}
			if read(f, &m) == nil {
				return m.Functions
			}
		}
	}
	for _, f := range zr.File {
		dir, ok := strings.CutSuffix(f.Name, "/function.json")
		if !ok || strings.Contains(dir, "/") || dir == "" {
			continue
		}
		var def struct {
			Bindings []struct{ Type string } `json:"bindings"`
		}
		if read(f, &def) != nil {
			continue
		}
		out[dir] = ""
		for _, b := range def.Bindings {
			if strings.HasSuffix(strings.ToLower(b.Type), "trigger") {
				out[dir] = b.Type
			}
		}
	}
	return out
}

// functionOf splits .../sites/<app>/functions/<fn>.
func functionOf(rid string) (app, fn string, ok bool) {
	i := strings.Index(strings.ToLower(rid), "/sites/")
	if i < 0 {
		return "", "", false
	}
	parts := strings.Split(rid[i+len("/sites/"):], "/")
	if len(parts) != 3 || !strings.EqualFold(parts[1], "functions") {
		return "", "", false
	}
	return parts[0], parts[2], true
}

// validateFilter enforces Event Grid's limits and operator shapes.
func validateFilter(f any) *armError {
	fm, _ := f.(map[string]any)
	afs, _ := fm["advancedFilters"].([]any)
	if len(afs) > maxAdvancedFilters {
		return errf(400, "InvalidRequest", "%d advanced filters: at most %d", len(afs), maxAdvancedFilters)
	}
	values := 0
	for _, x := range afs {
		af, _ := x.(map[string]any)
		op, _ := af["operatorType"].(string)
		if !operators[op] {
			return errf(400, "InvalidRequest", "unknown operatorType %q", op)
		}
		if k, _ := af["key"].(string); k == "" {
			return errf(400, "InvalidRequest", "an advanced filter needs a key")
		}
		if vs, ok := af["values"].([]any); ok {
			values += len(vs)
			for _, v := range vs {
				if str, ok := v.(string); ok && len(str) > 512 {
					return errf(400, "InvalidRequest", "a filter value is over 512 characters")
				}
			}
		} else if af["value"] != nil {
			values++
		}
	}
	if values > maxFilterValues {
		return errf(400, "InvalidRequest", "%d filter values in all: at most %d", values, maxFilterValues)
	}
	return nil
}

// serveEventGrid is a topic's data plane: POST
// /eventgrid/<topic>/api/events with a CloudEvents batch. Like Event Grid,
// it refuses the whole batch when any event is invalid (400) or the batch
// is over 1 MB (413).
func (s *Server) serveEventGrid(w http.ResponseWriter, r *http.Request, body []byte, call *Call) int {
	rest := strings.TrimPrefix(r.URL.Path, "/eventgrid/")
	topic, path, _ := strings.Cut(rest, "/")
	call.Resource = "eventgrid/" + topic
	fail := func(e *armError) int { writeError(w, e); return e.status }
	if path != "api/events" || r.Method != http.MethodPost {
		return fail(errf(404, "NotFound", "no route %s", r.URL.Path))
	}
	if r.URL.Query().Get("api-version") == "" {
		return fail(errf(400, "BadRequest", "api-version is required"))
	}
	if r.Header.Get("Authorization") == "" && r.Header.Get("aeg-sas-key") == "" {
		return fail(errf(401, "Unauthorized", "a bearer token or aeg-sas-key is required"))
	}
	t := s.topics[topic]
	if t == nil {
		return fail(errf(404, "NotFound", "topic %s not found", topic))
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/cloudevents-batch+json") {
		return fail(errf(400, "BadRequest", "a CloudEvents topic takes application/cloudevents-batch+json, not %q", r.Header.Get("Content-Type")))
	}
	if len(body) > maxBatchBytes {
		return fail(errf(413, "PayloadTooLarge", "the batch is %d bytes: at most %d", len(body), maxBatchBytes))
	}
	var batch []json.RawMessage
	if err := json.Unmarshal(body, &batch); err != nil {
		return fail(errf(400, "BadRequest", "the body is not a JSON array: %v", err))
	}
	for i, raw := range batch {
		var ce map[string]any
		if err := json.Unmarshal(raw, &ce); err != nil {
			return fail(errf(400, "BadRequest", "event %d is not an object", i))
		}
		for _, k := range []string{"specversion", "id", "source", "type"} {
			if v, _ := ce[k].(string); v == "" {
				return fail(errf(400, "BadRequest", "event %d: required attribute %s is missing", i, k))
			}
		}
		if ce["specversion"] != "1.0" {
			return fail(errf(400, "BadRequest", "event %d: specversion %v is not 1.0", i, ce["specversion"]))
		}
	}
	s.events[topic] = append(s.events[topic], batch...)
	w.WriteHeader(http.StatusOK)
	return http.StatusOK
}

// Delivery is one event Event Grid would deliver to one function.
type Delivery struct {
	EventID      string
	App          string // the function app
	Subscription string
	Event        json.RawMessage
}

// Deliveries routes every event published to topic through the topic's
// event subscriptions, with Event Grid's filter semantics (Match).
func (s *Server) Deliveries(topic string) ([]Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Delivery
	for _, ev := range s.events[topic] {
		var id struct {
			ID string `json:"id"`
		}
		json.Unmarshal(ev, &id)
		for _, name := range slices.Sorted(mapsKeys(s.subs[topic])) {
			sub := s.subs[topic][name]
			props := sub["properties"].(map[string]any)
			f, _ := json.Marshal(props["filter"])
			ok, err := Match(f, ev)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			dest := props["destination"].(map[string]any)["properties"].(map[string]any)["resourceId"].(string)
			app, _, _ := functionOf(dest)
			out = append(out, Delivery{EventID: id.ID, App: app, Subscription: name, Event: ev})
		}
	}
	return out, nil
}

// Published returns the events published to topic.
func (s *Server) Published(topic string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events[topic])
}

// Match evaluates an event subscription filter on a CloudEvent with Event
// Grid's documented semantics: eventgridfilter.Match, which the driver's
// filter test --target azure uses too.
func Match(filter, event []byte) (bool, error) { return eventgridfilter.Match(filter, event) }
