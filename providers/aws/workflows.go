package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/workflow"
)

// Workflows on AWS are Step Functions state machines named
// <project>-<workflow>. deploy (PlanShared/ApplyShared) creates or updates
// each, with a role of its own that may invoke exactly the functions its
// definition names (and their versions and aliases) and write its log
// group; a definition is updated only when the rendered one differs, so a
// deploy that changes nothing makes no mutating call.

// StateMachineName is the state machine of the project's workflow wf.
func StateMachineName(project, wf string) string { return limitName(project+"-"+wf, 80) }

// StateMachineRoleName is the role the state machine of wf runs with.
func StateMachineRoleName(project, wf, region string) string {
	return limitName("evcli-"+project+"-sfn-"+wf+"-"+region, 64)
}

// StateMachineLogGroup is where the state machine of wf logs.
func StateMachineLogGroup(project, wf string) string {
	return "/aws/vendedlogs/states/" + StateMachineName(project, wf)
}

const statesTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// desiredWorkflows are the project's workflows as evcli makes them here.
func (d *Deployer) desiredWorkflows(ctx context.Context) ([]desiredWorkflow, error) {
	if len(d.o.Workflows) == 0 {
		return nil, nil
	}
	s, err := d.scope(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]desiredWorkflow, 0, len(d.o.Workflows))
	for _, w := range d.o.Workflows {
		dw, err := desiredWorkflowOf(d.o.Project, s, w, d.physical, d.o.LogRetentionDays)
		if err != nil {
			return nil, err
		}
		out = append(out, dw)
	}
	return out, nil
}

// stateMachineArn finds a state machine by name; "" when there is none.
func (d *Deployer) stateMachineArn(ctx context.Context, name string) (string, error) {
	ms, err := d.stateMachines(ctx)
	return ms[name], err
}

// stateMachines are the account's state machines: name -> ARN.
func (d *Deployer) stateMachines(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	var token *string
	for {
		page, err := retry(ctx, d, "step functions state machines", func(ctx context.Context) (*sfn.ListStateMachinesOutput, error) {
			return d.sfn.ListStateMachines(ctx, &sfn.ListStateMachinesInput{NextToken: token})
		})
		if err != nil {
			return nil, err
		}
		for _, m := range page.StateMachines {
			out[aws.ToString(m.Name)] = aws.ToString(m.StateMachineArn)
		}
		if token = page.NextToken; token == nil || *token == "" {
			return out, nil
		}
	}
}

// workflowRules are the project's rules that start a workflow, on every bus.
func (d *Deployer) workflowRules(ctx context.Context) ([]deployedRule, error) {
	buses, err := d.listBuses(ctx)
	if err != nil {
		return nil, err
	}
	var out []deployedRule
	for _, bus := range buses {
		rs, err := d.busRulesWhere(ctx, bus, func(m ruleMeta) bool { return m.Workflow != "" })
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// prunableWorkflows are the state machines tagged with this project that
// no workflow of evcli.yaml has any more: state machine name -> workflow.
func (d *Deployer) prunableWorkflows(ctx context.Context, machines map[string]string, want []desiredWorkflow) (map[string]string, error) {
	out := map[string]string{}
	for name, arn := range machines {
		if !strings.HasPrefix(name, d.o.Project+"-") || slices.ContainsFunc(want, func(w desiredWorkflow) bool { return w.Name == name }) {
			continue
		}
		tags, err := retry(ctx, d, "state machine "+name, func(ctx context.Context) (*sfn.ListTagsForResourceOutput, error) {
			return d.sfn.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		})
		if err != nil {
			return nil, err
		}
		var project, wf string
		for _, t := range tags.Tags {
			switch aws.ToString(t.Key) {
			case TagProject:
				project = aws.ToString(t.Value)
			case tagWorkflow:
				wf = aws.ToString(t.Value)
			}
		}
		if project != d.o.Project {
			continue
		}
		if wf == "" { // made before state machines carried the tag
			wf = strings.TrimPrefix(name, d.o.Project+"-")
		}
		out[name] = wf
	}
	return out, nil
}

// planWorkflows says, per workflow, whether its state machine is created,
// updated (definition, role, rules that start it, the role EventBridge
// assumes for them) or unchanged; with prune, the state machines of
// workflows evcli.yaml no longer has are deleted. Only read calls.
func (d *Deployer) planWorkflows(ctx context.Context, prune bool) ([]providers.ResourceChange, error) {
	if len(d.o.Workflows) == 0 && !prune {
		return nil, nil
	}
	want, err := d.desiredWorkflows(ctx)
	if err != nil {
		return nil, err
	}
	machines, err := d.stateMachines(ctx)
	if len(want) == 0 && providers.CodeOf(err) == providers.PermissionDenied {
		// A project without workflows, deployed with credentials that may
		// not list state machines (so could never have made one): there
		// is nothing of it to prune.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rules []deployedRule
	if len(want) > 0 {
		if rules, err = d.workflowRules(ctx); err != nil {
			return nil, err
		}
	}
	var out []providers.ResourceChange
	for _, w := range want {
		c := providers.ResourceChange{Kind: "statemachine", Name: w.Name}
		smArn := machines[w.Name]
		if smArn == "" {
			c.Action = "create"
			out = append(out, c)
			continue
		}
		got, err := retry(ctx, d, "state machine "+w.Name, func(ctx context.Context) (*sfn.DescribeStateMachineOutput, error) {
			return d.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(smArn)})
		})
		if err != nil {
			return nil, err
		}
		if string(got.Type) != w.Spec.Type {
			return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "state machine " + w.Name,
				Err:  fmt.Errorf("it is a %s state machine, evcli.yaml says %s", got.Type, w.Spec.Type),
				Hint: "a state machine's type cannot change: delete it, or keep the type"}
		}
		if aws.ToString(got.Definition) != w.Definition {
			c.Fields = append(c.Fields, "definition")
		}
		if aws.ToString(got.RoleArn) != w.RoleArn {
			c.Fields = append(c.Fields, "role")
		}
		ok, err := d.workflowRulesAsWanted(ctx, w, smArn, rules)
		if err != nil {
			return nil, err
		}
		if !ok {
			c.Fields = append(c.Fields, "rules")
		}
		if w.EventsRoleName != "" {
			ok, err := d.roleAsWanted(ctx, w.EventsRoleName, w.EventsPolicy)
			if err != nil {
				return nil, err
			}
			if !ok {
				c.Fields = append(c.Fields, "events role")
			}
		}
		c.Action = "unchanged"
		if len(c.Fields) > 0 {
			c.Action = "update"
		}
		out = append(out, c)
	}
	if prune {
		gone, err := d.prunableWorkflows(ctx, machines, want)
		if err != nil {
			return nil, err
		}
		for _, name := range slices.Sorted(maps.Keys(gone)) {
			out = append(out, providers.ResourceChange{Kind: "statemachine", Name: name, Action: "delete"})
		}
	}
	return out, nil
}

// workflowRulesAsWanted reports whether the rules that start w are exactly
// w.Rules, enabled, each targeting the state machine with the events role.
func (d *Deployer) workflowRulesAsWanted(ctx context.Context, w desiredWorkflow, smArn string, have []deployedRule) (bool, error) {
	n := 0
	for _, r := range have {
		if r.Meta.Workflow != w.Spec.Name {
			continue
		}
		n++
		i := slices.IndexFunc(w.Rules, func(x desiredRule) bool { return x.Name == r.Name && x.Bus == normBus(r.Bus) })
		if i < 0 {
			return false, nil
		}
		want := w.Rules[i]
		if compactJSON([]byte(r.Pattern)) != want.Pattern || r.Description != want.Description || (r.State != "" && r.State != string(ebtypes.RuleStateEnabled)) {
			return false, nil
		}
		ok, err := d.hasWorkflowTarget(ctx, r, smArn, w.EventsRoleArn)
		if err != nil || !ok {
			return false, err
		}
	}
	return n == len(w.Rules), nil
}

// hasWorkflowTarget reports whether rule r targets the state machine with
// the events role.
func (d *Deployer) hasWorkflowTarget(ctx context.Context, r deployedRule, smArn, roleArn string) (bool, error) {
	out, err := retry(ctx, d, "rule "+r.Name, func(ctx context.Context) (*eventbridge.ListTargetsByRuleOutput, error) {
		return d.events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(r.Name), EventBusName: aws.String(r.Bus)})
	})
	if providers.CodeOf(err) == providers.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, t := range out.Targets {
		if aws.ToString(t.Arn) == smArn && aws.ToString(t.RoleArn) == roleArn && t.Input == nil && t.InputPath == nil && t.InputTransformer == nil {
			return true, nil
		}
	}
	return false, nil
}

// roleAsWanted reports whether role name exists with doc as its inline
// policy.
func (d *Deployer) roleAsWanted(ctx context.Context, name string, doc policyDoc) (bool, error) {
	b, _ := json.Marshal(doc)
	out, err := retry(ctx, d, "role "+name, func(ctx context.Context) (*iam.GetRolePolicyOutput, error) {
		return d.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(inlinePolicyName)})
	})
	if providers.CodeOf(err) == providers.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return samePolicy(aws.ToString(out.PolicyDocument), string(b)), nil
}

// applyWorkflow creates, updates or deletes the state machine of change
// c with its role, log group, the rules that start it and the role
// EventBridge assumes for them.
func (d *Deployer) applyWorkflow(ctx context.Context, c providers.ResourceChange, step func(string)) error {
	if c.Action == "delete" {
		return d.deleteWorkflow(ctx, c.Name, step)
	}
	want, err := d.desiredWorkflows(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(want, func(w desiredWorkflow) bool { return w.Name == c.Name })
	if i < 0 {
		return &providers.Error{Code: providers.InvalidArgument, Resource: "state machine " + c.Name, Err: errors.New("no workflow of the project has this state machine")}
	}
	w := want[i]
	res := "state machine " + c.Name
	smArn := w.Arn
	if c.Action == "create" || slices.Contains(c.Fields, "definition") || slices.Contains(c.Fields, "role") {
		step("role")
		roleArn, err := d.ensureRoleWith(ctx, w.RoleName, statesTrustPolicy, w.RoleDesc, w.Tags, w.Policy)
		if err != nil {
			return err
		}
		step("log group")
		err = do(ctx, d, "log group "+w.LogGroup, func(ctx context.Context) (*cloudwatchlogs.CreateLogGroupOutput, error) {
			return d.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(w.LogGroup), Tags: w.Tags})
		})
		switch {
		case err == nil: // new: the retention the functions' log groups get
			if err := do(ctx, d, "log group "+w.LogGroup, func(ctx context.Context) (*cloudwatchlogs.PutRetentionPolicyOutput, error) {
				return d.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(w.LogGroup),
					RetentionInDays: aws.Int32(int32(w.LogRetention))})
			}); err != nil {
				return err
			}
		case providers.CodeOf(err) != providers.Conflict:
			return err
		}
		logging := &sfntypes.LoggingConfiguration{Level: sfntypes.LogLevelError, IncludeExecutionData: false,
			Destinations: []sfntypes.LogDestination{{CloudWatchLogsLogGroup: &sfntypes.CloudWatchLogsLogGroup{LogGroupArn: aws.String(w.LogGroupArn)}}}}
		if c.Action == "create" {
			step("create")
			out, err := retry(ctx, d, res, func(ctx context.Context) (*sfn.CreateStateMachineOutput, error) {
				return d.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(c.Name), Definition: aws.String(w.Definition),
					RoleArn: aws.String(roleArn), Type: sfntypes.StateMachineType(w.Spec.Type), LoggingConfiguration: logging, Tags: sfnTags(w.Tags)})
			})
			if err != nil {
				return err
			}
			smArn = aws.ToString(out.StateMachineArn)
		} else {
			if smArn, err = d.stateMachineArn(ctx, c.Name); err != nil {
				return err
			}
			step("update")
			if err := do(ctx, d, res, func(ctx context.Context) (*sfn.UpdateStateMachineOutput, error) {
				return d.sfn.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(smArn),
					Definition: aws.String(w.Definition), RoleArn: aws.String(roleArn), LoggingConfiguration: logging})
			}); err != nil {
				return err
			}
		}
	} else if smArn, err = d.stateMachineArn(ctx, c.Name); err != nil {
		return err
	}
	return d.syncWorkflowRules(ctx, w, smArn, step)
}

func sfnTags(tags map[string]string) []sfntypes.Tag {
	out := make([]sfntypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, sfntypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

// syncWorkflowRules makes the rules that start w exist as wanted, each
// targeting the state machine with the role EventBridge assumes (made
// first), and deletes w's rules that are no longer wanted, and the events
// role when no rule is left. Calls are made only for what differs.
func (d *Deployer) syncWorkflowRules(ctx context.Context, w desiredWorkflow, smArn string, step func(string)) error {
	all, err := d.workflowRules(ctx)
	if err != nil {
		return err
	}
	have := map[string]deployedRule{}
	for _, r := range all {
		if r.Meta.Workflow == w.Spec.Name {
			have[normBus(r.Bus)+"\x00"+r.Name] = r
		}
	}
	if len(w.Rules) > 0 {
		ok, err := d.roleAsWanted(ctx, w.EventsRoleName, w.EventsPolicy)
		if err != nil {
			return err
		}
		if !ok {
			step("events role")
			if _, err := d.ensureRoleWith(ctx, w.EventsRoleName, eventsTrustPolicy, w.EventsRoleDesc, w.Tags, w.EventsPolicy); err != nil {
				return err
			}
		}
	}
	for _, want := range w.Rules {
		key := want.Bus + "\x00" + want.Name
		cur, exists := have[key]
		delete(have, key)
		res := "rule " + want.Name
		enabled := cur.State == "" || cur.State == string(ebtypes.RuleStateEnabled)
		if !exists || compactJSON([]byte(cur.Pattern)) != want.Pattern || cur.Description != want.Description || !enabled {
			step("rule " + want.Name)
			if err := do(ctx, d, res, func(ctx context.Context) (*eventbridge.PutRuleOutput, error) {
				return d.events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(want.Name), EventBusName: aws.String(want.Bus),
					EventPattern: aws.String(want.Pattern), Description: aws.String(want.Description), State: ebtypes.RuleStateEnabled,
					Tags: ebTags(want.Tags)})
			}); err != nil {
				return err
			}
		}
		if exists {
			ok, err := d.hasWorkflowTarget(ctx, deployedRule{Name: want.Name, Bus: want.Bus}, smArn, w.EventsRoleArn)
			if err != nil {
				return err
			}
			if ok {
				continue
			}
		}
		// An IAM role just made may not be assumable yet: EventBridge
		// answers PutTargets regardless and retries its deliveries.
		out, err := retry(ctx, d, res, func(ctx context.Context) (*eventbridge.PutTargetsOutput, error) {
			return d.events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(want.Name), EventBusName: aws.String(want.Bus),
				Targets: []ebtypes.Target{{Id: aws.String(workflowTargetID), Arn: aws.String(smArn), RoleArn: aws.String(w.EventsRoleArn)}}})
		})
		if err != nil {
			return err
		}
		if out.FailedEntryCount > 0 && len(out.FailedEntries) > 0 {
			fe := out.FailedEntries[0]
			return wrapDeployErr(res, fmt.Errorf("PutTargets failed: %s: %s", aws.ToString(fe.ErrorCode), aws.ToString(fe.ErrorMessage)))
		}
	}
	for _, r := range have {
		step("delete rule " + r.Name)
		if err := d.deleteRule(ctx, r, false); err != nil {
			return err
		}
	}
	if len(w.Rules) == 0 {
		return d.deleteRole(ctx, StateMachineEventsRoleName(d.o.Project, w.Spec.Name, d.region))
	}
	return nil
}

// deleteWorkflow deletes the state machine name (of a workflow evcli.yaml
// no longer has), the rules that start it, its roles and its log group.
// What is already gone is not an error.
func (d *Deployer) deleteWorkflow(ctx context.Context, name string, step func(string)) error {
	machines, err := d.stateMachines(ctx)
	if err != nil {
		return err
	}
	wf := strings.TrimPrefix(name, d.o.Project+"-")
	if arn := machines[name]; arn != "" {
		gone, err := d.prunableWorkflows(ctx, map[string]string{name: arn}, nil)
		if err != nil {
			return err
		}
		w, ok := gone[name]
		if !ok {
			return &providers.Error{Code: providers.Conflict, Resource: "state machine " + name,
				Err: fmt.Errorf("it is not tagged %s=%s: evcli deletes only what it made", TagProject, d.o.Project)}
		}
		wf = w
	}
	rules, err := d.workflowRules(ctx)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if r.Meta.Workflow == wf {
			step("delete rule " + r.Name)
			if err := d.deleteRule(ctx, r, false); err != nil {
				return err
			}
		}
	}
	if arn := machines[name]; arn != "" {
		step("delete")
		err := do(ctx, d, "state machine "+name, func(ctx context.Context) (*sfn.DeleteStateMachineOutput, error) {
			return d.sfn.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)})
		})
		if err != nil && providers.CodeOf(err) != providers.NotFound {
			return err
		}
	}
	step("delete roles")
	for _, role := range []string{StateMachineRoleName(d.o.Project, wf, d.region), StateMachineEventsRoleName(d.o.Project, wf, d.region)} {
		if err := d.deleteRole(ctx, role); err != nil {
			return err
		}
	}
	step("delete log group")
	group := StateMachineLogGroup(d.o.Project, wf)
	err = do(ctx, d, "log group "+group, func(ctx context.Context) (*cloudwatchlogs.DeleteLogGroupOutput, error) {
		return d.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)})
	})
	if providers.CodeOf(err) == providers.NotFound {
		return nil
	}
	return err
}

// ensureRoleWith is role name (made when missing, trusted per trust),
// with doc as its inline policy; it returns the role's ARN. A role of that
// name that is not this project's is a Conflict.
func (d *Deployer) ensureRoleWith(ctx context.Context, name, trust, desc string, tags map[string]string, doc policyDoc) (string, error) {
	res := "role " + name
	b, _ := json.Marshal(doc)
	policy := string(b)
	var arn string
	got, err := retry(ctx, d, res, func(ctx context.Context) (*iam.GetRoleOutput, error) {
		return d.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	})
	created := false
	switch {
	case providers.CodeOf(err) == providers.NotFound:
		var iamTags []iamtypes.Tag
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			iamTags = append(iamTags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
		out, err := retry(ctx, d, res, func(ctx context.Context) (*iam.CreateRoleOutput, error) {
			return d.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust),
				Description: aws.String(desc), Tags: iamTags})
		})
		if err != nil {
			return "", err
		}
		arn, created = aws.ToString(out.Role.Arn), true
	case err != nil:
		return "", err
	default:
		if !hasTag(got.Role.Tags, TagProject, d.o.Project) {
			return "", &providers.Error{Code: providers.Conflict, Resource: res,
				Err: fmt.Errorf("a role of that name exists and is not tagged %s=%s", TagProject, d.o.Project), Hint: "delete the existing role"}
		}
		arn = aws.ToString(got.Role.Arn)
	}
	current := ""
	if !created {
		out, err := retry(ctx, d, res, func(ctx context.Context) (*iam.GetRolePolicyOutput, error) {
			return d.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(inlinePolicyName)})
		})
		if err != nil && providers.CodeOf(err) != providers.NotFound {
			return "", err
		}
		if err == nil {
			current = aws.ToString(out.PolicyDocument)
		}
	}
	if !samePolicy(current, policy) {
		if err := do(ctx, d, res, func(ctx context.Context) (*iam.PutRolePolicyOutput, error) {
			return d.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(inlinePolicyName), PolicyDocument: aws.String(policy)})
		}); err != nil {
			return "", err
		}
	}
	return arn, nil
}

// workflowAbility is providers.Workflows over Step Functions.
type workflowAbility struct {
	d     *Deployer
	sleep func(context.Context, time.Duration) error
	poll  time.Duration
}

// expressErr is the error for what Step Functions does not keep for an
// EXPRESS workflow (nil for a STANDARD one): its executions' list,
// description, history and redrive.
func (a *workflowAbility) expressErr(workflow string) error {
	for _, w := range a.d.o.Workflows {
		if w.Name == workflow && w.Type == "EXPRESS" {
			return &providers.Error{Code: providers.Unsupported, Resource: "workflow " + workflow,
				Err:  errors.New("Step Functions keeps no execution list or history for an EXPRESS workflow: executions, describe, --wait and redrive need type: STANDARD"),
				Hint: "its errors are logged to " + StateMachineLogGroup(a.d.o.Project, workflow) + "; evcli workflow start still starts one"}
		}
	}
	return nil
}

func (a *workflowAbility) machineArn(ctx context.Context, workflow string) (string, error) {
	name := StateMachineName(a.d.o.Project, workflow)
	arn, err := a.d.stateMachineArn(ctx, name)
	if err == nil && arn == "" {
		err = &providers.Error{Code: providers.NotFound, Resource: "state machine " + name,
			Err: fmt.Errorf("workflow %s is not deployed", workflow), Hint: "run evcli deploy"}
	}
	return arn, err
}

func (a *workflowAbility) StartExecution(ctx context.Context, s providers.WorkflowStart) (providers.WorkflowExecution, error) {
	smArn, err := a.machineArn(ctx, s.Workflow)
	if err != nil {
		return providers.WorkflowExecution{}, err
	}
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(smArn), Input: aws.String(string(s.Input))}
	if s.Name != "" {
		in.Name = aws.String(s.Name)
	}
	out, err := a.d.sfn.StartExecution(ctx, in)
	if err != nil {
		return providers.WorkflowExecution{}, classify("state machine "+smArn, err, nil)
	}
	return providers.WorkflowExecution{ID: aws.ToString(out.ExecutionArn), Name: lastColon(aws.ToString(out.ExecutionArn)),
		Workflow: s.Workflow, Status: "RUNNING", Input: s.Input, CorrelationID: s.CorrelationID, Started: aws.ToTime(out.StartDate)}, nil
}

func lastColon(s string) string {
	if i := strings.LastIndex(s, ":"); i >= 0 {
		return s[i+1:]
	}
	return s
}

// executionArn resolves an execution given by ARN or by name (searched in
// the project's workflows).
func (a *workflowAbility) executionArn(ctx context.Context, id string) (string, error) {
	if strings.HasPrefix(id, "arn:") {
		if parts := strings.Split(id, ":"); len(parts) > 6 && parts[5] == "express" {
			if err := a.expressErr(a.workflowOf(parts[6])); err != nil {
				return "", err
			}
			return "", &providers.Error{Code: providers.Unsupported, Resource: "execution " + id,
				Err: errors.New("Step Functions keeps no history for an EXPRESS execution")}
		}
		return id, nil
	}
	for _, w := range a.d.o.Workflows {
		if w.Type == "EXPRESS" {
			continue
		}
		smArn, err := a.d.stateMachineArn(ctx, StateMachineName(a.d.o.Project, w.Name))
		if err != nil {
			return "", err
		}
		if smArn == "" {
			continue
		}
		// an execution ARN is the state machine's with execution:NAME
		exArn := strings.Replace(smArn, ":stateMachine:", ":execution:", 1) + ":" + id
		if _, err := a.d.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(exArn)}); err == nil {
			return exArn, nil
		} else if codeOf(err) != providers.NotFound {
			return "", classify("execution "+id, err, nil)
		}
	}
	return "", &providers.Error{Code: providers.NotFound, Resource: "execution " + id, Err: fmt.Errorf("no workflow execution %q", id)}
}

func (a *workflowAbility) workflowOf(smArn string) string {
	name := lastColon(smArn)
	for _, w := range a.d.o.Workflows {
		if StateMachineName(a.d.o.Project, w.Name) == name {
			return w.Name
		}
	}
	return name
}

// correlation is the correlation id in an execution's input, at the path
// evcli.yaml gives for workflow wf ("" when none): executions a rule
// started carry the event, whose correlation id evcli sets no other way.
func (a *workflowAbility) correlation(wf string, input []byte) string {
	for _, w := range a.d.o.Workflows {
		if w.Name == wf {
			return workflow.Correlation(input, w.Correlation)
		}
	}
	return ""
}

func (a *workflowAbility) describe(ctx context.Context, arn string) (providers.WorkflowExecution, error) {
	out, err := a.d.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return providers.WorkflowExecution{}, classify("execution "+arn, err, nil)
	}
	x := providers.WorkflowExecution{ID: arn, Name: aws.ToString(out.Name), Workflow: a.workflowOf(aws.ToString(out.StateMachineArn)),
		Status: string(out.Status), Error: aws.ToString(out.Error), Cause: aws.ToString(out.Cause),
		Started: aws.ToTime(out.StartDate), Stopped: aws.ToTime(out.StopDate), RedriveCount: int(aws.ToInt32(out.RedriveCount))}
	if out.Input != nil {
		x.Input = json.RawMessage(*out.Input)
		x.CorrelationID = a.correlation(x.Workflow, x.Input)
	}
	if out.Output != nil {
		x.Output = json.RawMessage(*out.Output)
	}
	return x, nil
}

func (a *workflowAbility) history(ctx context.Context, arn string) ([]providers.WorkflowEvent, error) {
	var raw []sfntypes.HistoryEvent
	var token *string
	for {
		out, err := a.d.sfn.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), NextToken: token})
		if err != nil {
			return nil, classify("execution "+arn, err, nil)
		}
		raw = append(raw, out.Events...)
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	return portableHistory(raw), nil
}

// portableHistory turns Step Functions' history into evcli's events: one
// per state entered and exited, Lambda call and end of the execution; a
// function scheduled again after it failed in the same state is a retry
// (RetryScheduled, its attempt and the wait); a state that exits after its
// function failed caught the error (CatchMatched, with the state entered
// next).
func portableHistory(raw []sfntypes.HistoryEvent) []providers.WorkflowEvent {
	var out []providers.WorkflowEvent
	var state, stype, failed, failedCause string
	var entered, failedAt time.Time
	attempt := 1
	for i, e := range raw {
		t := string(e.Type)
		ev := providers.WorkflowEvent{Seq: int(e.Id), Time: aws.ToTime(e.Timestamp)}
		switch {
		case t == "ExecutionStarted":
			ev.Type = "ExecutionStarted"
			if d := e.ExecutionStartedEventDetails; d != nil && d.Input != nil {
				ev.Input = json.RawMessage(*d.Input)
			}
		case t == "ExecutionRedriven":
			ev.Type = "ExecutionRedriven"
		case strings.HasSuffix(t, "StateEntered") && e.StateEnteredEventDetails != nil:
			state, stype, entered, failed, attempt = aws.ToString(e.StateEnteredEventDetails.Name), strings.TrimSuffix(t, "StateEntered"), ev.Time, "", 1
			ev.Type, ev.State, ev.StateType = "StateEntered", state, stype
		case strings.HasSuffix(t, "StateExited") && e.StateExitedEventDetails != nil:
			name := aws.ToString(e.StateExitedEventDetails.Name)
			if failed != "" && name == state {
				c := providers.WorkflowEvent{Seq: ev.Seq, Time: ev.Time, Type: "CatchMatched", State: state, StateType: stype, Error: failed, Cause: failedCause}
				for _, n := range raw[i+1:] {
					if strings.HasSuffix(string(n.Type), "StateEntered") && n.StateEnteredEventDetails != nil {
						c.Next = aws.ToString(n.StateEnteredEventDetails.Name)
						break
					}
				}
				out = append(out, c)
			}
			ev.Type, ev.State, ev.StateType = "StateExited", name, strings.TrimSuffix(t, "StateExited")
			ev.DurationMs = float64(ev.Time.Sub(entered).Microseconds()) / 1000
			if o := e.StateExitedEventDetails.Output; o != nil {
				ev.Output = json.RawMessage(*o)
			}
		case t == "LambdaFunctionScheduled" && e.LambdaFunctionScheduledEventDetails != nil:
			if failed != "" {
				// Scheduled again in the state whose function failed: Step
				// Functions records a Retry so, with no event of its own.
				attempt++
				out = append(out, providers.WorkflowEvent{Seq: ev.Seq, Time: ev.Time, Type: "RetryScheduled", State: state, StateType: stype,
					Error: failed, Cause: failedCause, Attempt: attempt, DelayMs: float64(ev.Time.Sub(failedAt).Milliseconds())})
				failed, failedCause = "", ""
			}
			ev.Type, ev.State, ev.StateType = "TaskScheduled", state, stype
			ev.Function = lastColon(aws.ToString(e.LambdaFunctionScheduledEventDetails.Resource))
		case t == "LambdaFunctionSucceeded":
			ev.Type, ev.State, ev.StateType = "TaskSucceeded", state, stype
		case t == "LambdaFunctionFailed" && e.LambdaFunctionFailedEventDetails != nil:
			ev.Type, ev.State, ev.StateType = "TaskFailed", state, stype
			ev.Error, ev.Cause = aws.ToString(e.LambdaFunctionFailedEventDetails.Error), aws.ToString(e.LambdaFunctionFailedEventDetails.Cause)
			failed, failedCause, failedAt = ev.Error, ev.Cause, ev.Time
		case t == "ExecutionSucceeded":
			ev.Type = "ExecutionSucceeded"
			if d := e.ExecutionSucceededEventDetails; d != nil && d.Output != nil {
				ev.Output = json.RawMessage(*d.Output)
			}
		case t == "ExecutionFailed":
			ev.Type = "ExecutionFailed"
			if d := e.ExecutionFailedEventDetails; d != nil {
				ev.Error, ev.Cause = aws.ToString(d.Error), aws.ToString(d.Cause)
			}
			if stype == "Fail" {
				out = append(out, providers.WorkflowEvent{Seq: ev.Seq, Time: ev.Time, Type: "StateFailed", State: state, StateType: stype, Error: ev.Error, Cause: ev.Cause})
			}
		default:
			continue
		}
		out = append(out, ev)
	}
	return out
}

func (a *workflowAbility) WaitExecution(ctx context.Context, id string, after int, onEvent func(providers.WorkflowEvent)) (providers.WorkflowExecution, error) {
	arn, err := a.executionArn(ctx, id)
	if err != nil {
		return providers.WorkflowExecution{}, err
	}
	for {
		x, err := a.describe(ctx, arn)
		if err != nil {
			return x, err
		}
		hist, err := a.history(ctx, arn)
		if err != nil {
			return x, err
		}
		for _, ev := range hist {
			if ev.Seq <= after {
				continue
			}
			after = ev.Seq
			if onEvent != nil {
				onEvent(ev)
			}
		}
		if x.Finished() {
			return x, nil
		}
		if err := a.sleep(ctx, a.poll); err != nil {
			return x, err
		}
	}
}

func (a *workflowAbility) ListExecutions(ctx context.Context, workflow string) ([]providers.WorkflowExecution, error) {
	var out []providers.WorkflowExecution
	if err := a.expressErr(workflow); err != nil {
		return nil, err
	}
	for _, w := range a.d.o.Workflows {
		if (workflow != "" && w.Name != workflow) || w.Type == "EXPRESS" {
			continue
		}
		smArn, err := a.d.stateMachineArn(ctx, StateMachineName(a.d.o.Project, w.Name))
		if err != nil {
			return nil, err
		}
		if smArn == "" {
			continue
		}
		var token *string
		for {
			page, err := a.d.sfn.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(smArn), NextToken: token})
			if err != nil {
				return nil, classify("state machine "+smArn, err, nil)
			}
			for _, e := range page.Executions {
				out = append(out, providers.WorkflowExecution{ID: aws.ToString(e.ExecutionArn), Name: aws.ToString(e.Name), Workflow: w.Name,
					Status: string(e.Status), Started: aws.ToTime(e.StartDate), Stopped: aws.ToTime(e.StopDate), RedriveCount: int(aws.ToInt32(e.RedriveCount))})
			}
			if page.NextToken == nil {
				break
			}
			token = page.NextToken
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, nil
}

func (a *workflowAbility) DescribeExecution(ctx context.Context, id string) (providers.WorkflowExecution, []providers.WorkflowEvent, error) {
	arn, err := a.executionArn(ctx, id)
	if err != nil {
		return providers.WorkflowExecution{}, nil, err
	}
	x, err := a.describe(ctx, arn)
	if err != nil {
		return x, nil, err
	}
	hist, err := a.history(ctx, arn)
	return x, hist, err
}

func (a *workflowAbility) RedriveExecution(ctx context.Context, id string) (providers.WorkflowExecution, error) {
	arn, err := a.executionArn(ctx, id)
	if err != nil {
		return providers.WorkflowExecution{}, err
	}
	if _, err := a.d.sfn.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)}); err != nil {
		return providers.WorkflowExecution{}, classify("execution "+arn, err, nil)
	}
	return a.describe(ctx, arn)
}

var _ providers.Workflows = (*workflowAbility)(nil)
