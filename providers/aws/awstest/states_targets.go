package awstest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// EventBridge rules whose target is a Step Functions state machine: the
// fake starts an execution for each matching event, as EventBridge does,
// with the event envelope as the execution's input (or the target's
// Input) and a name of its own choosing (EventBridge gives the API no
// name). It assumes the target's RoleArn first: a role that events.amazonaws.com
// may not assume, or whose inline policies do not allow
// states:StartExecution on that state machine, starts nothing and is
// recorded as a failed invocation, as EventBridge's FailedInvocations
// metric counts it. Executions start on their own goroutines after
// PutEvents answered; WaitDeliveries waits for them.

// FailedInvocation is a delivery to a state machine target that did not
// start an execution.
type FailedInvocation struct {
	Bus, Rule, Target string
	Reason            string
}

// FailedInvocations returns the deliveries that started nothing.
func (s *Server) FailedInvocations() []FailedInvocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.failedInvocations)
}

// isStateMachineArn reports whether arn names a Step Functions state machine.
func isStateMachineArn(arn string) bool {
	return strings.HasPrefix(arn, "arn:") && strings.Contains(arn, ":states:") && strings.Contains(arn, ":stateMachine:")
}

// startDeliveredExecution starts the execution a delivery to a state
// machine target makes.
func (s *Server) startDeliveredExecution(d Delivery) {
	fail := func(reason string) {
		s.mu.Lock()
		s.failedInvocations = append(s.failedInvocations, FailedInvocation{Bus: d.Bus, Rule: d.Rule, Target: d.Target.Arn, Reason: reason})
		s.mu.Unlock()
	}
	if reason := s.mayStart(d.Target.RoleArn, d.Target.Arn); reason != "" {
		fail(reason)
		return
	}
	in := map[string]json.RawMessage{"stateMachineArn": jsonBody(d.Target.Arn), "input": jsonBody(string(d.Event))}
	s.mu.Lock()
	rep, e := statesService{s}.start(d.Target.Arn, in)
	s.mu.Unlock()
	if e == nil && rep.then != nil {
		_, e = rep.then()
	}
	if e != nil {
		fail(e.Code + ": " + e.Message)
	}
}

// mayStart says why EventBridge could not start an execution of smArn
// with roleArn ("" when it can).
func (s *Server) mayStart(roleArn, smArn string) string {
	if roleArn == "" {
		return "the target has no RoleArn: EventBridge needs a role to start a state machine"
	}
	home := s
	if s.iamHome != nil {
		home = s.iamHome
	}
	home.mu.Lock()
	defer home.mu.Unlock()
	var r *role
	for _, x := range home.roles {
		if x.arn == roleArn {
			r = x
		}
	}
	switch {
	case r == nil:
		return fmt.Sprintf("role %s does not exist", roleArn)
	case !policyAllows(r.assumePolicy, "sts:AssumeRole", "", "events.amazonaws.com"):
		return fmt.Sprintf("events.amazonaws.com may not assume role %s", roleArn)
	}
	for _, doc := range r.inline {
		if policyAllows(doc, "states:StartExecution", smArn, "") {
			return ""
		}
	}
	return fmt.Sprintf("role %s may not states:StartExecution on %s", roleArn, smArn)
}

// policyAllows reports whether an Allow statement of doc grants action on
// resource (trust policies: to the service principal instead). Wildcards
// are honoured at the end of an action or resource.
func policyAllows(doc, action, resource, principal string) bool {
	var p struct {
		Statement []struct {
			Effect    string
			Action    any
			Resource  any
			Principal struct{ Service any }
		}
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return false
	}
	list := func(v any) []string {
		switch t := v.(type) {
		case string:
			return []string{t}
		case []any:
			var out []string
			for _, x := range t {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
		return nil
	}
	match := func(pats []string, v string) bool {
		return slices.ContainsFunc(pats, func(p string) bool {
			return p == v || (strings.HasSuffix(p, "*") && strings.HasPrefix(v, strings.TrimSuffix(p, "*")))
		})
	}
	for _, st := range p.Statement {
		if st.Effect != "Allow" || !match(list(st.Action), action) {
			continue
		}
		if principal != "" && slices.Contains(list(st.Principal.Service), principal) {
			return true
		}
		if principal == "" && match(list(st.Resource), resource) {
			return true
		}
	}
	return false
}
