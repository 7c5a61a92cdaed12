package aws

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/evcli/evcli/export"
	"github.com/evcli/evcli/internal/awsproject"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/templates"
	"github.com/evcli/evcli/workflow"
)

// The three formats describe the same resources: CloudFormation (which the
// round trip proves equal to what deploy makes), SAM and Terraform are each
// read into one model — per function its settings, environment (secrets by
// name), tags, role with its trust and inline policy, log group; per rule
// its bus, pattern, description, state, tags and the function it targets;
// the table — and compared. ARN placeholders are kept as written, Terraform's
// data sources evaluated to the same placeholders.

type agreedFunction struct {
	Runtime, Handler      string
	Memory, Timeout, Conc int
	Arch                  []string
	Env, Tags             map[string]string
	Role, Trust, Policy   string
	LogRetention          int
	LogTags               map[string]string
	ManagedPolicies       []string
}

type agreedRule struct {
	Bus, Pattern, Description, State, Target string
	Tags                                     map[string]string
}

// agreedMachine is a state machine with its role, log group and the role
// EventBridge assumes to start it.
type agreedMachine struct {
	Type, Definition, LogDestination      string
	Role, Trust, Policy                   string
	LogGroup                              string
	LogRetention                          int
	Tags, LogTags                         map[string]string
	EventsRole, EventsTrust, EventsPolicy string
}

type agreed struct {
	Machines  map[string]*agreedMachine
	Functions map[string]*agreedFunction
	Rules     map[string]agreedRule
	Buses     map[string]map[string]string
	Tables    map[string]string
}

func newAgreed() *agreed {
	return &agreed{Machines: map[string]*agreedMachine{}, Functions: map[string]*agreedFunction{}, Rules: map[string]agreedRule{}, Buses: map[string]map[string]string{}, Tables: map[string]string{}}
}

func TestExportFormatsAgree(t *testing.T) {
	for _, tmpl := range templates.Names {
		t.Run(tmpl, func(t *testing.T) {
			dir := awsproject.Render(t, tmpl, "eu-west-1", func(y string) string {
				return strings.Replace(y, "functions:\n", "functions:\n  secretive:\n    source: functions/"+firstSource(y)+"\n    runtime: nodejs22.x\n    handler: index.handler\n    secrets: [API_KEY]\n    concurrency: 2\n    architecture: arm64\n", 1)
			}, withWorkflowEvents)
			p, err := project.Load(dir+"/evcli.yaml", project.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			desired, err := export.Desired(ctx, export.Options{Project: p})
			if err != nil {
				t.Fatal(err)
			}
			o := deployerOptions(providers.OpenOptions{Project: p.Name, Bus: p.Bus, Store: providers.StoreSpec{Type: p.Store.Type, Table: p.Store.Table,
				TTLDays: p.Store.TTLDays, Keys: providers.StoreKeys{Aggregate: p.Store.Keys.Aggregate, Sort: p.Store.Keys.Sort, Version: p.Store.Keys.Version, TTL: p.Store.Keys.TTL}},
				Workflows: workflow.Specs(p)})
			e := NewExporter("eu-west-1", o)
			model := map[string]*agreed{}
			for _, format := range providers.ExportFormats {
				ex, err := e.Export(ctx, desired, format)
				if err != nil {
					t.Fatal(err)
				}
				if format == providers.FormatTerraform {
					model[format] = agreedFromTF(t, export.Template(ex).Data)
				} else {
					model[format] = agreedFromCFN(t, export.Template(ex).Data)
				}
			}
			cfn := model[providers.FormatCloudFormation]
			if len(cfn.Functions) != len(p.Functions)+1 || len(cfn.Rules) == 0 || len(cfn.Tables) != 1 || len(cfn.Buses) != 1 {
				t.Fatalf("cloudformation: %d functions, %d rules, tables %v, buses %v", len(cfn.Functions), len(cfn.Rules), cfn.Tables, cfn.Buses)
			}
			if len(cfn.Machines) != len(p.Workflows) {
				t.Fatalf("cloudformation: state machines %v, want %d", cfn.Machines, len(p.Workflows))
			}
			for name, m := range cfn.Machines {
				if m.EventsRole == "" || !strings.Contains(m.EventsPolicy, "states:StartExecution") || !strings.Contains(m.Policy, "lambda:InvokeFunction") ||
					!strings.Contains(m.Definition, ":function:shop-process-payment") || m.LogRetention != 14 {
					t.Errorf("state machine %s: %+v", name, m)
				}
			}
			if f := cfn.Functions["shop-secretive"]; f == nil || f.Env["API_KEY"] != "secret:api_key" || f.Conc != 2 {
				t.Fatalf("secretive: %+v", f)
			}
			for _, format := range []string{providers.FormatSAM, providers.FormatTerraform} {
				m := model[format]
				for name, want := range cfn.Functions {
					if got := m.Functions[name]; got == nil || !reflect.DeepEqual(*got, *want) {
						t.Errorf("%s: function %s\n got  %+v\n want %+v", format, name, got, want)
					}
				}
				if len(m.Functions) != len(cfn.Functions) {
					t.Errorf("%s: %d functions, cloudformation %d", format, len(m.Functions), len(cfn.Functions))
				}
				for name, want := range cfn.Machines {
					if got := m.Machines[name]; got == nil || !reflect.DeepEqual(*got, *want) {
						t.Errorf("%s: state machine %s\n got  %+v\n want %+v", format, name, got, want)
					}
				}
				if len(m.Machines) != len(cfn.Machines) {
					t.Errorf("%s: %d state machines, cloudformation %d", format, len(m.Machines), len(cfn.Machines))
				}
				if !reflect.DeepEqual(m.Rules, cfn.Rules) {
					t.Errorf("%s: rules\n got  %+v\n want %+v", format, m.Rules, cfn.Rules)
				}
				if !reflect.DeepEqual(m.Buses, cfn.Buses) || !reflect.DeepEqual(m.Tables, cfn.Tables) {
					t.Errorf("%s: buses %v tables %v, want %v %v", format, m.Buses, m.Tables, cfn.Buses, cfn.Tables)
				}
			}
		})
	}
}

// firstSource is the source directory of the template's first function.
func firstSource(y string) string {
	_, rest, _ := strings.Cut(y, "source: functions/")
	name, _, _ := strings.Cut(rest, "\n")
	return name
}

func tagMapOf(tags []CFNTag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func agreedFromCFN(t *testing.T, b []byte) *agreed {
	t.Helper()
	tpl, err := ParseCFN(b)
	if err != nil {
		t.Fatal(err)
	}
	a := newAgreed()
	js := func(j CFNJSON) string {
		out, err := j.JSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	fnName := map[string]string{} // logical id -> function name
	for id, r := range tpl.Resources {
		var s LambdaSettings
		var tags map[string]string
		switch p := r.Properties.(type) {
		case *CFNFunction:
			s, tags = p.LambdaSettings, tagMapOf(p.Tags)
		case *SAMFunction:
			s, tags = p.LambdaSettings, p.Tags
		default:
			continue
		}
		fnName[id] = s.FunctionName
		f := &agreedFunction{Runtime: s.Runtime, Handler: s.Handler, Memory: s.MemorySize, Timeout: s.Timeout, Conc: s.ReservedConcurrentExecutions,
			Arch: s.Architectures, Env: map[string]string{}, Tags: tags, Role: s.Role.Arg}
		if s.Environment != nil {
			for k, v := range s.Environment.Variables {
				f.Env[k] = v.Arg
				if v.Fn == "Ref" {
					f.Env[k] = "secret:" + strings.ToLower(k)
				}
			}
		}
		if s.Role.Fn == "GetAtt" {
			role := tpl.Resources[strings.TrimSuffix(s.Role.Arg, ".Arn")].Properties.(*CFNRole)
			f.Role, f.Trust, f.Policy = role.RoleName, js(role.AssumeRolePolicyDocument), js(role.Policies[0].PolicyDocument)
			for _, m := range role.ManagedPolicyArns {
				f.ManagedPolicies = append(f.ManagedPolicies, m.Arg)
			}
			if !reflect.DeepEqual(tagMapOf(role.Tags), ownerTags("shop", tags[TagFunction])) {
				t.Errorf("role %s tags %v", role.RoleName, role.Tags)
			}
		}
		for _, r := range tpl.Resources {
			if lg, ok := r.Properties.(*CFNLogGroup); ok && lg.LogGroupName == DefaultLogGroupPrefix+s.FunctionName {
				f.LogRetention, f.LogTags = lg.RetentionInDays, tagMapOf(lg.Tags)
			}
		}
		a.Functions[s.FunctionName] = f
	}
	for _, r := range tpl.Resources {
		p, ok := r.Properties.(*CFNStateMachine)
		if !ok {
			continue
		}
		role := tpl.Resources[strings.TrimSuffix(p.RoleArn.Arg, ".Arn")].Properties.(*CFNRole)
		m := &agreedMachine{Type: p.StateMachineType, Definition: strings.ReplaceAll(p.DefinitionString.Arg, "${!", "${"),
			LogDestination: p.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn.Arg,
			Role:           role.RoleName, Trust: js(role.AssumeRolePolicyDocument), Policy: js(role.Policies[0].PolicyDocument), Tags: tagMapOf(p.Tags)}
		for _, r := range tpl.Resources {
			if lg, ok := r.Properties.(*CFNLogGroup); ok && strings.Contains(m.LogDestination, ":log-group:"+lg.LogGroupName+":") {
				m.LogGroup, m.LogRetention, m.LogTags = lg.LogGroupName, lg.RetentionInDays, tagMapOf(lg.Tags)
			}
		}
		a.Machines[p.StateMachineName] = m
	}
	for _, r := range tpl.Resources {
		switch p := r.Properties.(type) {
		case *CFNRule:
			bus := "default"
			switch p.EventBusName.Fn {
			case "Ref":
				bus = tpl.Resources[p.EventBusName.Arg].Properties.(*CFNBus).Name
			case "":
				if p.EventBusName.Arg != "" {
					bus = p.EventBusName.Arg
				}
			}
			alias := p.Targets[0].Arn.Arg
			target := fnName[strings.TrimSuffix(alias, "Aliaslive")] // SAM's alias of <id>Function
			if a, ok := tpl.Resources[alias].Properties.(*CFNAlias); ok {
				target = fnName[a.FunctionName.Arg]
			}
			if sm, ok := tpl.Resources[alias].Properties.(*CFNStateMachine); ok {
				role := tpl.Resources[strings.TrimSuffix(p.Targets[0].RoleArn.Arg, ".Arn")].Properties.(*CFNRole)
				target = "statemachine:" + sm.StateMachineName + " role:" + role.RoleName
				m := a.Machines[sm.StateMachineName]
				m.EventsRole, m.EventsTrust, m.EventsPolicy = role.RoleName, js(role.AssumeRolePolicyDocument), js(role.Policies[0].PolicyDocument)
			}
			a.Rules[p.Name] = agreedRule{Bus: bus, Pattern: js(p.EventPattern), Description: p.Description, State: p.State, Target: target, Tags: tagMapOf(p.Tags)}
		case *CFNBus:
			a.Buses[p.Name] = tagMapOf(p.Tags)
		case *CFNTable:
			b, _ := json.Marshal(p)
			a.Tables[p.TableName] = string(b)
		}

	}
	return a
}

// agreedFromTF evaluates the configuration's attributes, resolving
// references to what the resources they name were given.
func agreedFromTF(t *testing.T, src []byte) *agreed {
	t.Helper()
	f, diags := hclsyntax.ParseConfig(src, "main.tf", hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	type block struct {
		typ, name string
		body      *hclsyntax.Body
	}
	var blocks []block
	vars := map[string]cty.Value{}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		switch b.Type {
		case "resource":
			blocks = append(blocks, block{b.Labels[0], b.Labels[1], b.Body})
		case "variable":
			vars[b.Labels[0]] = cty.StringVal("secret:" + strings.TrimPrefix(b.Labels[0], "secret_"))
		}
	}
	known := map[string]map[string]map[string]cty.Value{} // type -> name -> attribute
	set := func(typ, name string, attrs map[string]cty.Value) {
		if known[typ] == nil {
			known[typ] = map[string]map[string]cty.Value{}
		}
		known[typ][name] = attrs
	}
	evalCtx := func() *hcl.EvalContext {
		v := map[string]cty.Value{
			"var":  cty.ObjectVal(vars),
			"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(".")}),
			"data": cty.ObjectVal(map[string]cty.Value{
				"aws_partition":       cty.ObjectVal(map[string]cty.Value{"current": cty.ObjectVal(map[string]cty.Value{"partition": cty.StringVal(phPartition)})}),
				"aws_caller_identity": cty.ObjectVal(map[string]cty.Value{"current": cty.ObjectVal(map[string]cty.Value{"account_id": cty.StringVal(phAccount)})}),
			}),
		}
		for typ, byName := range known {
			objs := map[string]cty.Value{}
			for n, attrs := range byName {
				objs[n] = cty.ObjectVal(attrs)
			}
			v[typ] = cty.ObjectVal(objs)
		}
		return &hcl.EvalContext{Variables: v}
	}
	attr := func(b *hclsyntax.Body, name string) cty.Value {
		t.Helper()
		a, ok := b.Attributes[name]
		if !ok {
			return cty.NilVal
		}
		v, d := a.Expr.Value(evalCtx())
		if d.HasErrors() {
			t.Fatalf("%s: %v", name, d)
		}
		return v
	}
	str := func(b *hclsyntax.Body, name string) string {
		if v := attr(b, name); v != cty.NilVal {
			return v.AsString()
		}
		return ""
	}
	num := func(b *hclsyntax.Body, name string) int {
		if v := attr(b, name); v != cty.NilVal {
			n, _ := v.AsBigFloat().Int64()
			return int(n)
		}
		return 0
	}
	strMap := func(v cty.Value) map[string]string {
		m := map[string]string{}
		if v == cty.NilVal {
			return m
		}
		for k, x := range v.AsValueMap() {
			m[k] = x.AsString()
		}
		return m
	}
	a := newAgreed()
	// In dependency order, as terraform would create them.
	for _, typ := range []string{"aws_cloudwatch_event_bus", "aws_dynamodb_table", "aws_iam_role", "aws_iam_role_policy", "aws_iam_role_policy_attachment",
		"aws_cloudwatch_log_group", "aws_lambda_function", "aws_lambda_alias", "aws_sfn_state_machine", "aws_cloudwatch_event_rule", "aws_cloudwatch_event_target", "aws_lambda_permission"} {
		for _, b := range blocks {
			if b.typ != typ {
				continue
			}
			body := b.body
			switch typ {
			case "aws_cloudwatch_event_bus":
				set(typ, b.name, map[string]cty.Value{"name": attr(body, "name")})
				a.Buses[str(body, "name")] = strMap(attr(body, "tags"))
			case "aws_dynamodb_table":
				tb := CFNTable{TableName: str(body, "name"), BillingMode: str(body, "billing_mode"), Tags: cfnTags(strMap(attr(body, "tags")))}
				for _, nb := range body.Blocks {
					switch nb.Type {
					case "attribute":
						tb.AttributeDefinitions = append(tb.AttributeDefinitions, CFNAttribute{AttributeName: str(nb.Body, "name"), AttributeType: str(nb.Body, "type")})
					case "ttl":
						tb.TimeToLiveSpecification = &CFNTimeToLive{AttributeName: str(nb.Body, "attribute_name"), Enabled: attr(nb.Body, "enabled").True()}
					}
				}
				tb.KeySchema = append(tb.KeySchema, CFNKey{AttributeName: str(body, "hash_key"), KeyType: "HASH"})
				if rk := str(body, "range_key"); rk != "" {
					tb.KeySchema = append(tb.KeySchema, CFNKey{AttributeName: rk, KeyType: "RANGE"})
				}
				js, _ := json.Marshal(tb)
				a.Tables[tb.TableName] = string(js)
			case "aws_iam_role":
				name := str(body, "name")
				set(typ, b.name, map[string]cty.Value{"name": cty.StringVal(name), "id": cty.StringVal(name), "arn": cty.StringVal("role:" + name),
					"trust": attr(body, "assume_role_policy")})
			case "aws_iam_role_policy":
				r := known["aws_iam_role"][b.name]
				r["policy"] = attr(body, "policy")
				if str(body, "role") != r["name"].AsString() {
					t.Errorf("policy %s is on role %s", b.name, str(body, "role"))
				}
			case "aws_iam_role_policy_attachment":
				role := strings.TrimSuffix(b.name, "_basic")
				known["aws_iam_role"][role]["managed"] = attr(body, "policy_arn")
			case "aws_cloudwatch_log_group":
				set(typ, b.name, map[string]cty.Value{"retention": attr(body, "retention_in_days"), "tags": attr(body, "tags"), "name": attr(body, "name")})
			case "aws_sfn_state_machine":
				name := str(body, "name")
				r := known["aws_iam_role"][b.name]
				lg := known["aws_cloudwatch_log_group"][b.name]
				n, _ := lg["retention"].AsBigFloat().Int64()
				m := &agreedMachine{Type: str(body, "type"), Definition: str(body, "definition"), Role: strings.TrimPrefix(str(body, "role_arn"), "role:"),
					Trust: r["trust"].AsString(), Policy: r["policy"].AsString(), Tags: strMap(attr(body, "tags")),
					LogGroup: lg["name"].AsString(), LogRetention: int(n), LogTags: strMap(lg["tags"])}
				for _, nb := range body.Blocks {
					if nb.Type == "logging_configuration" {
						m.LogDestination = str(nb.Body, "log_destination")
					}
				}
				if ev := known["aws_iam_role"][b.name+"_events"]; ev != nil {
					m.EventsRole, m.EventsTrust, m.EventsPolicy = ev["name"].AsString(), ev["trust"].AsString(), ev["policy"].AsString()
				}
				a.Machines[name] = m
				set(typ, b.name, map[string]cty.Value{"arn": cty.StringVal("sm:" + name)})
			case "aws_lambda_function":
				name := str(body, "function_name")
				f := &agreedFunction{Runtime: str(body, "runtime"), Handler: str(body, "handler"), Memory: num(body, "memory_size"), Timeout: num(body, "timeout"),
					Conc: num(body, "reserved_concurrent_executions"), Env: map[string]string{}, Tags: strMap(attr(body, "tags")), Role: str(body, "role")}
				for _, x := range attr(body, "architectures").AsValueSlice() {
					f.Arch = append(f.Arch, x.AsString())
				}
				for _, nb := range body.Blocks {
					if nb.Type == "environment" {
						f.Env = strMap(attr(nb.Body, "variables"))
					}
				}
				if role, ok := strings.CutPrefix(f.Role, "role:"); ok {
					r := known["aws_iam_role"][b.name]
					f.Role, f.Trust, f.Policy = role, r["trust"].AsString(), r["policy"].AsString()
					f.ManagedPolicies = []string{r["managed"].AsString()}
				}
				if lg := known["aws_cloudwatch_log_group"][b.name]; lg != nil {
					n, _ := lg["retention"].AsBigFloat().Int64()
					f.LogRetention, f.LogTags = int(n), strMap(lg["tags"])
				}
				a.Functions[name] = f
				set(typ, b.name, map[string]cty.Value{"function_name": cty.StringVal(name), "version": cty.StringVal("1")})
			case "aws_lambda_alias":
				set(typ, b.name, map[string]cty.Value{"name": attr(body, "name"), "arn": cty.StringVal("alias:" + str(body, "function_name"))})
			case "aws_cloudwatch_event_rule":
				bus := "default"
				if v := attr(body, "event_bus_name"); v != cty.NilVal {
					bus = v.AsString()
				}
				set(typ, b.name, map[string]cty.Value{"name": attr(body, "name"), "arn": cty.StringVal("rule:" + str(body, "name")), "event_bus_name": cty.StringVal(bus)})
				a.Rules[str(body, "name")] = agreedRule{Bus: bus, Pattern: str(body, "event_pattern"), Description: str(body, "description"),
					State: str(body, "state"), Tags: strMap(attr(body, "tags"))}
			case "aws_cloudwatch_event_target":
				r := a.Rules[str(body, "rule")]
				r.Target = strings.TrimPrefix(str(body, "arn"), "alias:")
				if sm, ok := strings.CutPrefix(r.Target, "sm:"); ok {
					r.Target = "statemachine:" + sm + " role:" + strings.TrimPrefix(str(body, "role_arn"), "role:")
				}
				a.Rules[str(body, "rule")] = r
			case "aws_lambda_permission":
				rule := strings.TrimPrefix(str(body, "source_arn"), "rule:")
				if str(body, "function_name") != a.Rules[rule].Target || str(body, "qualifier") != AliasLive || str(body, "principal") != "events.amazonaws.com" {
					t.Errorf("permission %s: %s:%s for %s", b.name, str(body, "function_name"), str(body, "qualifier"), rule)
				}
			}
		}
	}
	return a
}
