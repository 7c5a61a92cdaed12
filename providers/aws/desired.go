package aws

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/evcli/evcli/internal/asl"
	"github.com/evcli/evcli/providers"
)

// The desired state of what evcli owns on AWS for a project, as pure
// functions of the project's options and its functions. The Deployer
// converges the account towards it with API calls; the Exporter writes the
// same resources as a template. Neither keeps its own list: a name, tag,
// policy statement or rule setting changed here changes both.

// arnScope spells the ARNs of the desired state: with the account's values
// when deploying, with the template language's placeholders when exporting
// (${AWS::AccountId}, ...), so a template is written without credentials.
type arnScope struct {
	Partition, Region, Account string
}

// Placeholders an exported template resolves (CloudFormation's pseudo
// parameters; the Terraform writer maps them to data sources).
const (
	phPartition = "${AWS::Partition}"
	phRegion    = "${AWS::Region}"
	phAccount   = "${AWS::AccountId}"
)

func (s arnScope) busARN(bus string) string {
	return fmt.Sprintf("arn:%s:events:%s:%s:event-bus/%s", s.Partition, s.Region, s.Account, normBus(bus))
}

func (s arnScope) tableARN(table string) string {
	return fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", s.Partition, s.Region, s.Account, table)
}

func (s arnScope) ruleARN(bus, name string) string {
	path := name
	if normBus(bus) != "default" {
		path = bus + "/" + name
	}
	return fmt.Sprintf("arn:%s:events:%s:%s:rule/%s", s.Partition, s.Region, s.Account, path)
}

// leastPrivilegeDoc is the inline policy of a function's role: PutEvents on
// the project's bus and, with an event-store table, item read/write on it.
func leastPrivilegeDoc(s arnScope, bus string, table *TableSpec) policyDoc {
	doc := policyDoc{Version: "2012-10-17", Statement: []policyStatement{
		{Sid: "PutEventsOnProjectBus", Effect: "Allow", Action: []string{"events:PutEvents"}, Resource: []string{s.busARN(bus)}},
	}}
	if table != nil && table.Name != "" {
		arn := s.tableARN(table.Name)
		doc.Statement = append(doc.Statement, policyStatement{Sid: "EventStoreReadWrite", Effect: "Allow",
			Action: []string{"dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem",
				"dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"},
			Resource: []string{arn, arn + "/index/*"}})
	}
	return doc
}

// functionTags are the tags evcli keeps on a function.
func functionTags(project string, fd providers.FunctionDeployment) map[string]string {
	t := map[string]string{TagProject: project, TagFunction: fd.Name}
	if fd.Correlation != "" {
		t[tagCorrelation] = encodeTagValue(fd.Correlation)
	}
	if len(fd.SecretNames) > 0 {
		s := slices.Clone(fd.SecretNames)
		slices.Sort(s)
		if v := strings.Join(s, " "); len(v) <= 256 {
			t[tagSecrets] = v
		}
	}
	return t
}

// ownerTags are the tags of a function's role, log group and rules.
func ownerTags(project, fn string) map[string]string {
	return map[string]string{TagProject: project, TagFunction: fn}
}

// roleDescription is the description of the role evcli makes for fn.
func roleDescription(project, fn string) string {
	return "execution role of " + fn + ", managed by evcli (project " + project + ")"
}

// aliasDescription is the description of the live alias.
const aliasDescription = "the version evcli deployed last; evcli rollback moves it"

// desiredRule is one EventBridge rule of a function as evcli makes it: the
// rule, its one target (the live alias) and the permission letting
// EventBridge invoke that alias.
type desiredRule struct {
	Spec providers.RuleSpec
	// Name is the rule's name, Bus its bus ("default" for the default bus).
	Name, Bus string
	// Pattern is the pattern as compact JSON.
	Pattern string
	// Description carries ruleMeta, by which Deployed finds the rule.
	Description string
	// StatementID names the permission on the live alias.
	StatementID string
	Tags        map[string]string
}

// desiredRules are fd's rules as evcli makes them.
func desiredRules(project string, fd providers.FunctionDeployment) []desiredRule {
	out := make([]desiredRule, 0, len(fd.Rules))
	for _, spec := range fd.Rules {
		name, bus := RuleName(project, spec.ID), normBus(spec.Bus)
		meta := ruleMeta{Project: project, Function: fd.Name, ID: spec.ID, Bus: spec.Bus}
		out = append(out, desiredRule{Spec: spec, Name: name, Bus: bus, Pattern: compactJSON(spec.Pattern),
			Description: meta.description(), StatementID: statementID(bus, name), Tags: ownerTags(project, fd.Name)})
	}
	return out
}

// writerDeployment is the event-store writer's desired deployment for
// table (nil: the project has none), its code the embedded zip whose
// base64 SHA-256 is sha, at path.
func writerDeployment(t *TableSpec, bus, sha, path string) *providers.FunctionDeployment {
	if t == nil || t.Name == "" {
		return nil
	}
	keys := storeWriterKeys{Aggregate: t.PartitionKey, Sort: t.SortKey, ID: t.ID, Type: t.Type,
		Data: t.Data, Version: t.Version, TTL: t.TTLAttribute, TTLDays: t.TTLDays}
	return &providers.FunctionDeployment{
		Name: StoreWriterFunction, Runtime: "nodejs22.x", Handler: "index.handler", Architecture: "arm64",
		MemoryMB: 128, TimeoutS: 10, CodeSha256: sha, ArtifactPath: path,
		Env:   map[string]string{"EVCLI_STORE_TABLE": t.Name, "EVCLI_STORE_KEYS": keys.json()},
		Rules: []providers.RuleSpec{{ID: StoreWriterFunction, Bus: bus, Pattern: []byte(StoreWriterPattern)}},
	}
}

// tableKeys are the table's key attributes: partition first, then the sort
// key when there is one.
func tableKeys(t *TableSpec) []string {
	if t.SortKey == "" {
		return []string{t.PartitionKey}
	}
	return []string{t.PartitionKey, t.SortKey}
}

// tagWorkflow names the workflow a state machine or its roles belong to.
const tagWorkflow = "evcli:workflow"

// workflowTargetID is the id of a state machine's target on the rules
// that start it.
const workflowTargetID = "evcli-workflow"

const eventsTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func (s arnScope) stateMachineARN(name string) string {
	return fmt.Sprintf("arn:%s:states:%s:%s:stateMachine:%s", s.Partition, s.Region, s.Account, name)
}

func (s arnScope) roleARN(name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", s.Partition, s.Account, name)
}

func (s arnScope) functionARN(physical string) string {
	return fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", s.Partition, s.Region, s.Account, physical)
}

func (s arnScope) logGroupARN(group string) string {
	return fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:*", s.Partition, s.Region, s.Account, group)
}

// StateMachineEventsRoleName is the role EventBridge assumes to start
// executions of wf (made only when a rule starts it).
func StateMachineEventsRoleName(project, wf, region string) string {
	return limitName("evcli-"+project+"-events-"+wf+"-"+region, 64)
}

// desiredWorkflow is one workflow as evcli makes it on AWS: the state
// machine with its rendered definition, the role it runs with (invoke
// exactly the functions it names, deliver its logs), its log group, and,
// when rules start it, those rules with the state machine as their target
// and the role EventBridge assumes for them (states:StartExecution on
// exactly this state machine).
type desiredWorkflow struct {
	Spec providers.WorkflowSpec
	// Name and Arn are the state machine's.
	Name, Arn string
	// Definition is the ASL Step Functions gets (keys sorted).
	Definition                  string
	RoleName, RoleArn, RoleDesc string
	Policy                      policyDoc
	LogGroup, LogGroupArn       string
	// LogRetention is the log group's retention in days.
	LogRetention int
	Tags         map[string]string
	// The role EventBridge assumes to start executions; "" without rules.
	EventsRoleName, EventsRoleArn, EventsRoleDesc string
	EventsPolicy                                  policyDoc
	Rules                                         []desiredRule
}

// statesLogActions are what Step Functions needs to deliver a state
// machine's logs to CloudWatch Logs (they take no resource).
var statesLogActions = []string{"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
	"logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}

// desiredWorkflowOf is w as evcli makes it, its Tasks pointed at the
// functions physical names.
func desiredWorkflowOf(project string, s arnScope, w providers.WorkflowSpec, physical func(string) string, retention int) (desiredWorkflow, error) {
	def, fnArns, err := renderDefinition(w.Definition, s, physical)
	if err != nil {
		return desiredWorkflow{}, &providers.Error{Code: providers.InvalidArgument, Resource: "workflow " + w.Name, Err: err}
	}
	name := StateMachineName(project, w.Name)
	dw := desiredWorkflow{Spec: w, Name: name, Arn: s.stateMachineARN(name), Definition: def,
		RoleName: StateMachineRoleName(project, w.Name, s.Region),
		RoleDesc: "role of workflow " + w.Name + ", managed by evcli (project " + project + ")",
		LogGroup: StateMachineLogGroup(project, w.Name), LogRetention: retention, Tags: map[string]string{TagProject: project, tagWorkflow: w.Name}}
	dw.RoleArn, dw.LogGroupArn = s.roleARN(dw.RoleName), s.logGroupARN(dw.LogGroup)
	var resources []string
	for _, a := range fnArns {
		resources = append(resources, a, a+":*")
	}
	dw.Policy = policyDoc{Version: "2012-10-17"}
	if len(resources) > 0 {
		dw.Policy.Statement = append(dw.Policy.Statement, policyStatement{Sid: "InvokeTheWorkflowsFunctions", Effect: "Allow",
			Action: []string{"lambda:InvokeFunction"}, Resource: resources})
	}
	dw.Policy.Statement = append(dw.Policy.Statement, policyStatement{Sid: "DeliverLogs", Effect: "Allow", Action: statesLogActions, Resource: []string{"*"}})
	if len(w.Rules) == 0 {
		return dw, nil
	}
	dw.EventsRoleName = StateMachineEventsRoleName(project, w.Name, s.Region)
	dw.EventsRoleArn = s.roleARN(dw.EventsRoleName)
	dw.EventsRoleDesc = "role EventBridge assumes to start workflow " + w.Name + ", managed by evcli (project " + project + ")"
	dw.EventsPolicy = policyDoc{Version: "2012-10-17", Statement: []policyStatement{
		{Sid: "StartTheWorkflow", Effect: "Allow", Action: []string{"states:StartExecution"}, Resource: []string{dw.Arn}}}}
	for _, spec := range w.Rules {
		rname, bus := RuleName(project, spec.ID), normBus(spec.Bus)
		meta := ruleMeta{Project: project, Workflow: w.Name, ID: spec.ID, Bus: spec.Bus}
		dw.Rules = append(dw.Rules, desiredRule{Spec: spec, Name: rname, Bus: bus, Pattern: compactJSON(spec.Pattern),
			Description: meta.description(), Tags: map[string]string{TagProject: project, tagWorkflow: w.Name}})
	}
	return dw, nil
}

// renderDefinition points every Task of def at the Lambda function of the
// project it names, and returns the ASL Step Functions gets (keys sorted,
// so that equal definitions render equal) and those functions' ARNs.
func renderDefinition(def []byte, s arnScope, physical func(string) string) (string, []string, error) {
	var v map[string]any
	if err := json.Unmarshal(def, &v); err != nil {
		return "", nil, err
	}
	fns := map[string]bool{}
	arn := func(fn string) string {
		fns[fn] = true
		return s.functionARN(physical(fn))
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
