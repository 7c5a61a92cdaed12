package awstest

import (
	"encoding/json"
	"time"

	"github.com/evcli/evcli/filter"
)

// Delivery is one event EventBridge hands to one target: a rule on the
// event's bus is ENABLED and its pattern matches the event.
type Delivery struct {
	Bus, Rule string
	Target    Target
	// Event is the envelope EventBridge sends a Lambda target (version, id,
	// detail-type, source, account, time, region, resources, detail); a
	// target's Input, when set, replaces it.
	Event []byte
}

// DeliverFunc receives deliveries. It runs on its own goroutine, after
// PutEvents answered (EventBridge delivers asynchronously): deliveries of
// one event may run concurrently and in any order.
type DeliverFunc func(Delivery)

// WithDeliver makes the fake deliver the events PutEvents accepts to f,
// once per matching rule and target (default: events are only recorded).
func WithDeliver(f DeliverFunc) Option { return func(s *Server) { s.deliver = f } }

// SetDeliver replaces the delivery function (nil: no delivery).
func (s *Server) SetDeliver(f DeliverFunc) { s.mu.Lock(); defer s.mu.Unlock(); s.deliver = f }

// WaitDeliveries waits until every delivery started so far has returned.
func (s *Server) WaitDeliveries() { s.delivering.Wait() }

// deliveries lists what the rules of ev's bus send ev to. The caller holds s.mu.
func (s *Server) deliveries(ev Event) []Delivery {
	b := s.buses[ev.Bus]
	if b == nil {
		return nil
	}
	at := ev.Time
	if at.IsZero() {
		at = s.requestTime()
	}
	resources := ev.Resources
	if resources == nil {
		resources = []string{}
	}
	env, err := json.Marshal(struct {
		Version    string          `json:"version"`
		ID         string          `json:"id"`
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Account    string          `json:"account"`
		Time       string          `json:"time"`
		Region     string          `json:"region"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}{"0", ev.ID, ev.DetailType, ev.Source, s.account, at.UTC().Format(time.RFC3339), s.region, resources, json.RawMessage(ev.Detail)})
	if err != nil {
		return nil
	}
	var out []Delivery
	for _, name := range sortedKeys(b.rules) {
		r := b.rules[name]
		if r.state != "ENABLED" || r.pattern == "" {
			continue
		}
		p, err := filter.Parse([]byte(r.pattern))
		if err != nil {
			continue // PutRule refuses invalid patterns; a seeded one matches nothing
		}
		if ok, _ := p.Match(env); !ok {
			continue
		}
		for _, raw := range r.targets {
			t := targetOf(raw)
			d := Delivery{Bus: ev.Bus, Rule: r.name, Target: t, Event: env}
			if t.Input != "" {
				d.Event = []byte(t.Input)
			}
			out = append(out, d)
		}
	}
	return out
}

// startDeliveries hands ds to f, each on its own goroutine; a delivery to
// a state machine starts an execution instead (states_targets.go).
func (s *Server) startDeliveries(f DeliverFunc, ds []Delivery) {
	for _, d := range ds {
		deliver := f
		if isStateMachineArn(d.Target.Arn) {
			deliver = s.startDeliveredExecution
		}
		if deliver == nil {
			continue
		}
		s.delivering.Add(1)
		go func() {
			defer s.delivering.Done()
			deliver(d)
		}()
	}
}
