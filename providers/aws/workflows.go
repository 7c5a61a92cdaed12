package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/evcli/evcli/internal/asl"
	"github.com/evcli/evcli/providers"
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

// renderDefinition points every Task of def at the Lambda function of this
// project it names, and returns the ASL Step Functions gets (keys sorted,
// so that equal definitions render equal) and those functions' ARNs.
func (d *Deployer) renderDefinition(def []byte, account, part string) (string, []string, error) {
	var v map[string]any
	if err := json.Unmarshal(def, &v); err != nil {
		return "", nil, err
	}
	fns := map[string]bool{}
	arn := func(fn string) string {
		fns[fn] = true
		return fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", part, d.region, account, d.physical(fn))
	}
	var walk func(m map[string]any)
	walk = func(m map[string]any) {
		states, _ := m["States"].(map[string]any)
		for _, sv := range states {
			st, _ := sv.(map[string]any)
			if st == nil {
				continue
			}
			if res, ok := st["Resource"].(string); ok && st["Type"] == "Task" {
				fn, invoke, ok := asl.FunctionOfResource(res)
				switch {
				case invoke:
					if p, _ := st["Parameters"].(map[string]any); p != nil {
						if name, ok := p["FunctionName"].(string); ok {
							if f, _, ok := asl.FunctionOfResource(name); ok {
								p["FunctionName"] = arn(f)
							}
						}
					}
				case ok:
					st["Resource"] = arn(fn)
				}
			}
			if bs, ok := st["Branches"].([]any); ok {
				for _, b := range bs {
					if bm, ok := b.(map[string]any); ok {
						walk(bm)
					}
				}
			}
			for _, k := range []string{"ItemProcessor", "Iterator"} {
				if pm, ok := st[k].(map[string]any); ok {
					walk(pm)
				}
			}
		}
	}
	walk(v)
	b, err := asl.MarshalJSON(v)
	var arns []string
	for fn := range fns {
		arns = append(arns, arn(fn))
	}
	sort.Strings(arns)
	return string(b), arns, err
}

// stateMachineArn finds a state machine by name; "" when there is none.
func (d *Deployer) stateMachineArn(ctx context.Context, name string) (string, error) {
	var token *string
	for {
		out, err := retry(ctx, d, "state machine "+name, func(ctx context.Context) (*sfn.ListStateMachinesOutput, error) {
			return d.sfn.ListStateMachines(ctx, &sfn.ListStateMachinesInput{NextToken: token})
		})
		if err != nil {
			return "", err
		}
		for _, m := range out.StateMachines {
			if aws.ToString(m.Name) == name {
				return aws.ToString(m.StateMachineArn), nil
			}
		}
		if out.NextToken == nil {
			return "", nil
		}
		token = out.NextToken
	}
}

// planWorkflows says, per workflow, whether its state machine is created,
// updated (definition, role, type) or unchanged.
func (d *Deployer) planWorkflows(ctx context.Context) ([]providers.ResourceChange, error) {
	var out []providers.ResourceChange
	if len(d.o.Workflows) == 0 {
		return nil, nil
	}
	account, part, err := d.identity(ctx)
	if err != nil {
		return nil, err
	}
	for _, w := range d.o.Workflows {
		name := StateMachineName(d.o.Project, w.Name)
		if len(w.Rules) > 0 {
			return nil, &providers.Error{Code: providers.Unsupported, Resource: "workflow " + w.Name,
				Err:  errors.New("rules that start a workflow (events: under a workflow) are not deployed to AWS yet"),
				Hint: "remove events: from the workflow to deploy it, and start executions with evcli workflow start"}
		}
		c := providers.ResourceChange{Kind: "statemachine", Name: name}
		def, _, err := d.renderDefinition(w.Definition, account, part)
		if err != nil {
			return nil, err
		}
		smArn, err := d.stateMachineArn(ctx, name)
		if err != nil {
			return nil, err
		}
		if smArn == "" {
			c.Action = "create"
			out = append(out, c)
			continue
		}
		got, err := retry(ctx, d, "state machine "+name, func(ctx context.Context) (*sfn.DescribeStateMachineOutput, error) {
			return d.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(smArn)})
		})
		if err != nil {
			return nil, err
		}
		if string(got.Type) != w.Type {
			return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "state machine " + name,
				Err:  fmt.Errorf("it is a %s state machine, evcli.yaml says %s", got.Type, w.Type),
				Hint: "a state machine's type cannot change: delete it, or keep the type"}
		}
		if aws.ToString(got.Definition) != def {
			c.Fields = append(c.Fields, "definition")
		}
		if aws.ToString(got.RoleArn) != fmt.Sprintf("arn:%s:iam::%s:role/%s", part, account, StateMachineRoleName(d.o.Project, w.Name, d.region)) {
			c.Fields = append(c.Fields, "role")
		}
		c.Action = "unchanged"
		if len(c.Fields) > 0 {
			c.Action = "update"
		}
		out = append(out, c)
	}
	return out, nil
}

// applyWorkflow creates or updates the state machine of change c, its role
// and its log group.
func (d *Deployer) applyWorkflow(ctx context.Context, c providers.ResourceChange, step func(string)) error {
	var w *providers.WorkflowSpec
	for i := range d.o.Workflows {
		if StateMachineName(d.o.Project, d.o.Workflows[i].Name) == c.Name {
			w = &d.o.Workflows[i]
		}
	}
	if w == nil {
		return &providers.Error{Code: providers.InvalidArgument, Resource: "state machine " + c.Name, Err: errors.New("no workflow of the project has this state machine")}
	}
	account, part, err := d.identity(ctx)
	if err != nil {
		return err
	}
	def, arns, err := d.renderDefinition(w.Definition, account, part)
	if err != nil {
		return err
	}
	step("role")
	roleArn, err := d.ensureStatesRole(ctx, w.Name, arns, part, account)
	if err != nil {
		return err
	}
	group := StateMachineLogGroup(d.o.Project, w.Name)
	step("log group")
	err = do(ctx, d, "log group "+group, func(ctx context.Context) (*cloudwatchlogs.CreateLogGroupOutput, error) {
		return d.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group),
			Tags: map[string]string{TagProject: d.o.Project}})
	})
	if err != nil && providers.CodeOf(err) != providers.Conflict {
		return err
	}
	logging := &sfntypes.LoggingConfiguration{Level: sfntypes.LogLevelError, IncludeExecutionData: false,
		Destinations: []sfntypes.LogDestination{{CloudWatchLogsLogGroup: &sfntypes.CloudWatchLogsLogGroup{
			LogGroupArn: aws.String(fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:*", part, d.region, account, group))}}}}
	res := "state machine " + c.Name
	if c.Action == "create" {
		step("create")
		return do(ctx, d, res, func(ctx context.Context) (*sfn.CreateStateMachineOutput, error) {
			return d.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(c.Name), Definition: aws.String(def),
				RoleArn: aws.String(roleArn), Type: sfntypes.StateMachineType(w.Type), LoggingConfiguration: logging,
				Tags: []sfntypes.Tag{{Key: aws.String(TagProject), Value: aws.String(d.o.Project)}}})
		})
	}
	smArn, err := d.stateMachineArn(ctx, c.Name)
	if err != nil {
		return err
	}
	step("update")
	return do(ctx, d, res, func(ctx context.Context) (*sfn.UpdateStateMachineOutput, error) {
		return d.sfn.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(smArn),
			Definition: aws.String(def), RoleArn: aws.String(roleArn), LoggingConfiguration: logging})
	})
}

// ensureStatesRole is the state machine's role: trusted by Step Functions,
// allowed to invoke exactly fnArns (and their qualifiers) and to deliver
// its logs.
func (d *Deployer) ensureStatesRole(ctx context.Context, wf string, fnArns []string, part, account string) (string, error) {
	name := StateMachineRoleName(d.o.Project, wf, d.region)
	res := "role " + name
	var resources []string
	for _, a := range fnArns {
		resources = append(resources, a, a+":*")
	}
	doc := policyDoc{Version: "2012-10-17", Statement: []policyStatement{
		{Sid: "InvokeTheWorkflowsFunctions", Effect: "Allow", Action: []string{"lambda:InvokeFunction"}, Resource: resources},
		{Sid: "DeliverLogs", Effect: "Allow", Action: []string{"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
			"logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"},
			Resource: []string{"*"}},
	}}
	if len(resources) == 0 {
		doc.Statement = doc.Statement[1:]
	}
	b, _ := json.Marshal(doc)
	policy := string(b)
	arn := fmt.Sprintf("arn:%s:iam::%s:role/%s", part, account, name)
	got, err := retry(ctx, d, res, func(ctx context.Context) (*iam.GetRoleOutput, error) {
		return d.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	})
	created := false
	switch {
	case providers.CodeOf(err) == providers.NotFound:
		out, err := retry(ctx, d, res, func(ctx context.Context) (*iam.CreateRoleOutput, error) {
			return d.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(statesTrustPolicy),
				Description: aws.String("role of workflow " + wf + ", managed by evcli (project " + d.o.Project + ")"),
				Tags:        []iamtypes.Tag{{Key: aws.String(TagProject), Value: aws.String(d.o.Project)}}})
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
		return id, nil
	}
	for _, w := range a.d.o.Workflows {
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
// state that exits after its function failed caught the error
// (CatchMatched, with the state entered next).
func portableHistory(raw []sfntypes.HistoryEvent) []providers.WorkflowEvent {
	var out []providers.WorkflowEvent
	var state, stype, failed, failedCause string
	var entered time.Time
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
			state, stype, entered, failed = aws.ToString(e.StateEnteredEventDetails.Name), strings.TrimSuffix(t, "StateEntered"), ev.Time, ""
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
			ev.Type, ev.State, ev.StateType = "TaskScheduled", state, stype
			ev.Function = lastColon(aws.ToString(e.LambdaFunctionScheduledEventDetails.Resource))
		case t == "LambdaFunctionSucceeded":
			ev.Type, ev.State, ev.StateType = "TaskSucceeded", state, stype
		case t == "LambdaFunctionFailed" && e.LambdaFunctionFailedEventDetails != nil:
			ev.Type, ev.State, ev.StateType = "TaskFailed", state, stype
			ev.Error, ev.Cause = aws.ToString(e.LambdaFunctionFailedEventDetails.Error), aws.ToString(e.LambdaFunctionFailedEventDetails.Cause)
			failed, failedCause = ev.Error, ev.Cause
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
	for _, w := range a.d.o.Workflows {
		if workflow != "" && w.Name != workflow {
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
