package cmd

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/evcli/evcli/internal/awsproject"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers/aws"
	"github.com/evcli/evcli/templates"
)

// Tests of evcli export: each template x format against a golden template,
// parsed back (YAML into the typed CloudFormation model, HCL with hclparse)
// and checked against evcli.yaml; --check; usage errors. The aws provider
// is the registry's, opened offline: no credentials, no fake needed.

const exportRegion = "eu-west-1"

// exportProject renders template tmpl as project shop for aws in
// eu-west-1 (awsproject.Render); fan-out gets a secret.
func exportProject(t *testing.T, tmpl string) string {
	t.Helper()
	return awsproject.Render(t, tmpl, exportRegion, func(y string) string {
		if tmpl == "fan-out" {
			y = strings.Replace(y, "  payment:\n", "  payment:\n    secrets: [PAYMENT_API_KEY]\n", 1)
		}
		if tmpl == "saga-orchestrated" { // an event starts the saga
			y = strings.Replace(y, "    definition: saga.asl.json\n", "    definition: saga.asl.json\n    events:\n      - pattern: {source: [shop.orders], detail-type: [OrderPlaced]}\n", 1)
		}
		return y
	})
}

// exportEnv runs evcli in dir with the real registry; the AWS SDK sees no
// profile or shared files, so nothing of the machine leaks in.
func exportEnv(t *testing.T, dir string) *awsCmdEnv {
	t.Helper()
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-aws-credentials"))
	e := newAWSCmdEnv(t)
	e.dir = dir
	e.f.Globals.File = filepath.Join(dir, "evcli.yaml")
	e.f.OpenProvider = openRegistered
	return e
}

func loadExported(t *testing.T, dir string) *project.Project {
	t.Helper()
	p, err := project.Load(filepath.Join(dir, "evcli.yaml"), project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// wantRules counts the rules (= permissions) evcli makes: one per event of
// each function, one for the writer when there is a table.
func wantRules(p *project.Project) int {
	n := 0
	for _, fn := range p.Functions {
		n += len(fn.Events)
	}
	if p.Store.Type == "dynamodb" {
		n++
	}
	return n
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return buf.String()
}

func TestExportGoldens(t *testing.T) {
	for _, tmpl := range templates.Names {
		for _, format := range []string{"cloudformation", "sam", "terraform"} {
			t.Run(tmpl+"/"+format, func(t *testing.T) {
				dir := exportProject(t, tmpl)
				e := exportEnv(t, dir)
				out := filepath.Join(dir, "infra", format)
				if code := e.run("export", "--format", format, "--dir", out); code != 0 {
					t.Fatalf("exit %d\n%s", code, e.errOut)
				}
				name := "template.yaml"
				if format == "terraform" {
					name = "main.tf"
				}
				b, err := os.ReadFile(filepath.Join(out, name))
				if err != nil {
					t.Fatal(err)
				}
				assertGolden(t, filepath.Join("testdata", "export", tmpl+"."+format+".golden"), string(b))
				p := loadExported(t, dir)
				if format == "terraform" {
					checkTerraform(t, p, out, b)
				} else {
					checkCFN(t, p, out, b, format == "sam")
				}
				// Written twice, the same bytes: the export is deterministic.
				if code := e.run("export", "--format", format, "--dir", out); code != 0 {
					t.Fatalf("second export: exit %d\n%s", code, e.errOut)
				}
				if again, _ := os.ReadFile(filepath.Join(out, name)); !bytes.Equal(again, b) {
					t.Fatal("a second export wrote a different template")
				}
			})
		}
	}
}

// checkCFN parses a CloudFormation/SAM template into the typed model and
// checks it against the project: counts by type, physical names, roles and
// their policies, the rules' patterns, buses and targets, the zips.
func checkCFN(t *testing.T, p *project.Project, out string, b []byte, sam bool) {
	t.Helper()
	tpl, err := aws.ParseCFN(b)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	count := map[string]int{}
	for _, r := range tpl.Resources {
		count[r.Type]++
	}
	fns := len(p.Functions)
	if p.Store.Type == "dynamodb" {
		fns++ // the writer
	}
	fnType := "AWS::Lambda::Function"
	if sam {
		fnType = "AWS::Serverless::Function"
		if tpl.Transform != "AWS::Serverless-2016-10-31" {
			t.Errorf("transform %q", tpl.Transform)
		}
	}
	wfs, wfRoles, wfRules := workflowCounts(p)
	want := map[string]int{fnType: fns, "AWS::IAM::Role": fns + wfRoles, "AWS::Logs::LogGroup": fns + wfs,
		"AWS::Events::Rule": wantRules(p) + wfRules, "AWS::Lambda::Permission": wantRules(p), "AWS::Events::EventBus": 1}
	if wfs > 0 {
		want["AWS::StepFunctions::StateMachine"] = wfs
	}
	if !sam {
		want["AWS::Lambda::Version"], want["AWS::Lambda::Alias"] = fns, fns
	}
	if p.Store.Type == "dynamodb" {
		want["AWS::DynamoDB::Table"] = 1
	}
	for typ, n := range want {
		if count[typ] != n {
			t.Errorf("%d %s, want %d (all: %v)", count[typ], typ, n, count)
		}
	}
	if len(tpl.Resources) != sumCounts(want) {
		t.Errorf("%d resources, want %d: evcli exports nothing it does not create (%v)", len(tpl.Resources), sumCounts(want), count)
	}
	busARN := "arn:${AWS::Partition}:events:" + exportRegion + ":${AWS::AccountId}:event-bus/" + p.Bus
	for _, fn := range p.Functions {
		id := camel(fn.Name)
		r := tpl.Resources[id+"Function"]
		var settings aws.LambdaSettings
		switch props := r.Properties.(type) {
		case *aws.CFNFunction:
			settings = props.LambdaSettings
			zip := filepath.Join(out, filepath.FromSlash(props.Code.S3Key))
			checkZipName(t, zip, props.Code.S3Key)
		case *aws.SAMFunction:
			settings = props.LambdaSettings
			if props.AutoPublishAlias != "live" {
				t.Errorf("%s: AutoPublishAlias %q", fn.Name, props.AutoPublishAlias)
			}
			if _, err := os.Stat(filepath.Join(out, props.CodeUri)); err != nil {
				t.Errorf("%s: CodeUri: %v", fn.Name, err)
			}
		default:
			t.Fatalf("%s: resource %sFunction is %T", fn.Name, id, r.Properties)
		}
		if settings.FunctionName != "shop-"+fn.Name || settings.MemorySize != fn.MemoryMB || settings.Timeout != fn.TimeoutS ||
			settings.Runtime != fn.Runtime || settings.Handler != fn.Handler {
			t.Errorf("%s: settings %+v", fn.Name, settings)
		}
		for _, s := range fn.Secrets {
			if v := settings.Environment.Variables[s]; v.Fn != "Ref" || tpl.Parameters[v.Arg].NoEcho != true {
				t.Errorf("%s: secret %s is %v, want a NoEcho parameter", fn.Name, s, v)
			}
		}
		role, ok := tpl.Resources[id+"Role"].Properties.(*aws.CFNRole)
		if !ok || role.RoleName != aws.RoleNameIn("shop", fn.Name, exportRegion) {
			t.Fatalf("%s: role %+v", fn.Name, tpl.Resources[id+"Role"])
		}
		pol, err := role.Policies[0].PolicyDocument.JSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(pol), `"Action":["events:PutEvents"],"Resource":["`+busARN+`"]`) {
			t.Errorf("%s: policy %s", fn.Name, pol)
		}
		if (p.Store.Type == "dynamodb") != strings.Contains(string(pol), "table/shop-events") {
			t.Errorf("%s: table access in policy %s", fn.Name, pol)
		}
		for i, ev := range fn.Events {
			rule, ok := tpl.Resources[id+"Rule"+itoa(i)].Properties.(*aws.CFNRule)
			if !ok {
				t.Fatalf("%s: no rule %d", fn.Name, i)
			}
			got, err := rule.EventPattern.JSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != compact(t, ev.Pattern) {
				t.Errorf("%s: pattern %s, want %s", fn.Name, got, compact(t, ev.Pattern))
			}
			if rule.Name != aws.RuleName("shop", fn.Name+"-"+itoa(i)) || rule.EventBusName.String() != "Ref EventBus" || rule.State != "ENABLED" {
				t.Errorf("%s: rule %+v", fn.Name, rule)
			}
			alias := id + "Alias"
			if sam {
				alias = id + "FunctionAliaslive"
			}
			if len(rule.Targets) != 1 || rule.Targets[0].Arn.String() != "Ref "+alias {
				t.Errorf("%s: targets %+v, want the live alias %s", fn.Name, rule.Targets, alias)
			}
			perm := tpl.Resources[id+"Rule"+itoa(i)+"Permission"].Properties.(*aws.CFNPermission)
			if perm.FunctionName.String() != "Ref "+alias || perm.SourceArn.String() != "GetAtt "+id+"Rule"+itoa(i)+".Arn" || perm.Principal != "events.amazonaws.com" {
				t.Errorf("%s: permission %+v", fn.Name, perm)
			}
		}
	}
	for _, w := range p.Workflows {
		checkCFNWorkflow(t, tpl, w)
	}
	if p.Store.Type == "dynamodb" {
		tb := tpl.Resources["EventStore"].Properties.(*aws.CFNTable)
		if tb.TableName != "shop-events" || tb.TimeToLiveSpecification == nil || tb.TimeToLiveSpecification.AttributeName != "expiresAt" ||
			tpl.Resources["EventStore"].DeletionPolicy != "Retain" {
			t.Errorf("table %+v", tb)
		}
	}
}

// workflowCounts are the project's workflows, the roles evcli makes for
// them (one each, one more for EventBridge when events start it) and the
// rules that start them.
func workflowCounts(p *project.Project) (wfs, roles, rules int) {
	for _, w := range p.Workflows {
		wfs++
		roles++
		if len(w.Events) > 0 {
			roles++
			rules += len(w.Events)
		}
	}
	return wfs, roles, rules
}

// checkCFNWorkflow checks a workflow's state machine (its Tasks at the
// project's function ARNs, its role invoking them, its log group) and the
// rules that start it (the state machine as target, with a role that may
// start exactly it).
func checkCFNWorkflow(t *testing.T, tpl *aws.CFNTemplate, w project.Workflow) {
	t.Helper()
	id := "Workflow" + camel(w.Name)
	sm, ok := tpl.Resources[id+"StateMachine"].Properties.(*aws.CFNStateMachine)
	if !ok {
		t.Fatalf("workflow %s: no state machine %sStateMachine", w.Name, id)
	}
	if sm.StateMachineName != "shop-"+w.Name || sm.StateMachineType != w.Type || sm.RoleArn.String() != "GetAtt "+id+"Role.Arn" ||
		sm.DefinitionString.Fn != "Sub" || !strings.Contains(sm.DefinitionString.Arg, `"Resource":"arn:${AWS::Partition}:lambda:`+exportRegion+`:${AWS::AccountId}:function:shop-`) {
		t.Errorf("workflow %s: state machine %+v", w.Name, sm)
	}
	if lc := sm.LoggingConfiguration; lc == nil || len(lc.Destinations) != 1 ||
		!strings.HasSuffix(lc.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn.Arg, ":log-group:"+aws.StateMachineLogGroup("shop", w.Name)+":*") {
		t.Errorf("workflow %s: logging %+v", w.Name, sm.LoggingConfiguration)
	}
	role := tpl.Resources[id+"Role"].Properties.(*aws.CFNRole)
	pol, _ := role.Policies[0].PolicyDocument.JSON(nil)
	if role.RoleName != aws.StateMachineRoleName("shop", w.Name, exportRegion) || !strings.Contains(string(pol), `"lambda:InvokeFunction"`) {
		t.Errorf("workflow %s: role %s policy %s", w.Name, role.RoleName, pol)
	}
	smARN := "arn:${AWS::Partition}:states:" + exportRegion + ":${AWS::AccountId}:stateMachine:shop-" + w.Name
	for i := range w.Events {
		rule, ok := tpl.Resources[id+"Rule"+itoa(i)].Properties.(*aws.CFNRule)
		if !ok {
			t.Fatalf("workflow %s: no rule %d", w.Name, i)
		}
		if len(rule.Targets) != 1 || rule.Targets[0].Arn.String() != "Ref "+id+"StateMachine" || rule.Targets[0].RoleArn.String() != "GetAtt "+id+"EventsRole.Arn" {
			t.Errorf("workflow %s: targets %+v", w.Name, rule.Targets)
		}
		events := tpl.Resources[id+"EventsRole"].Properties.(*aws.CFNRole)
		pol, _ := events.Policies[0].PolicyDocument.JSON(nil)
		if want := `{"Sid":"StartTheWorkflow","Effect":"Allow","Action":["states:StartExecution"],"Resource":["` + smARN + `"]}`; !strings.Contains(string(pol), want) {
			t.Errorf("workflow %s: events role policy %s, want %s", w.Name, pol, want)
		}
	}
}

// checkZipName checks a zip exists and its S3 key carries its hash.
func checkZipName(t *testing.T, path, key string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("zip: %v", err)
	}
	sum := sha256.Sum256(b)
	if !strings.HasSuffix(key, "/"+base64.RawURLEncoding.EncodeToString(sum[:])+".zip") {
		t.Errorf("S3 key %s does not carry the zip's hash", key)
	}
}

// checkTerraform parses the configuration with hclparse (no diagnostics)
// and checks it against the project.
func checkTerraform(t *testing.T, p *project.Project, out string, b []byte) {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL(b, "main.tf")
	if diags.HasErrors() || len(diags) > 0 {
		t.Fatalf("hclparse: %v", diags)
	}
	body := f.Body.(*hclsyntax.Body)
	count := map[string]int{}
	res := map[string]*hclsyntax.Body{}
	for _, blk := range body.Blocks {
		if blk.Type == "resource" {
			count[blk.Labels[0]]++
			res[blk.Labels[0]+"."+blk.Labels[1]] = blk.Body
		}
	}
	fns := len(p.Functions)
	if p.Store.Type == "dynamodb" {
		fns++
	}
	wfs, wfRoles, wfRules := workflowCounts(p)
	want := map[string]int{"aws_lambda_function": fns, "aws_lambda_alias": fns, "aws_iam_role": fns + wfRoles, "aws_iam_role_policy": fns + wfRoles,
		"aws_iam_role_policy_attachment": fns, "aws_cloudwatch_log_group": fns + wfs, "aws_cloudwatch_event_rule": wantRules(p) + wfRules,
		"aws_cloudwatch_event_target": wantRules(p) + wfRules, "aws_lambda_permission": wantRules(p), "aws_cloudwatch_event_bus": 1}
	if wfs > 0 {
		want["aws_sfn_state_machine"] = wfs
	}
	if p.Store.Type == "dynamodb" {
		want["aws_dynamodb_table"] = 1
	}
	for typ, n := range want {
		if count[typ] != n {
			t.Errorf("%d %s, want %d (all: %v)", count[typ], typ, n, count)
		}
	}
	if len(res) != sumCounts(want) {
		t.Errorf("%d resources, want %d (%v)", len(res), sumCounts(want), count)
	}
	str := func(b *hclsyntax.Body, name string) string {
		t.Helper()
		a, ok := b.Attributes[name]
		if !ok {
			t.Fatalf("no attribute %s", name)
		}
		v, d := a.Expr.Value(nil)
		if d.HasErrors() {
			t.Fatalf("%s is not a literal: %v", name, d)
		}
		if v.Type().FriendlyName() == "number" {
			return v.AsBigFloat().String()
		}
		return v.AsString()
	}
	for _, fn := range p.Functions {
		id := strings.ReplaceAll(fn.Name, "-", "_")
		l := res["aws_lambda_function."+id]
		if l == nil {
			t.Fatalf("no aws_lambda_function.%s", id)
		}
		if str(l, "function_name") != "shop-"+fn.Name || str(l, "memory_size") != itoa(fn.MemoryMB) || str(l, "runtime") != fn.Runtime {
			t.Errorf("%s: function_name %s memory %s", fn.Name, str(l, "function_name"), str(l, "memory_size"))
		}
		zip, err := os.ReadFile(filepath.Join(out, "artifacts", fn.Name+".zip"))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(zip)
		if str(l, "source_code_hash") != base64.StdEncoding.EncodeToString(sum[:]) {
			t.Errorf("%s: source_code_hash %s is not the zip's", fn.Name, str(l, "source_code_hash"))
		}
		if r := res["aws_iam_role."+id]; r == nil || str(r, "name") != aws.RoleNameIn("shop", fn.Name, exportRegion) {
			t.Errorf("%s: role", fn.Name)
		}
		pol := string(res["aws_iam_role_policy."+id].Attributes["policy"].Expr.Range().SliceBytes(b))
		if !strings.Contains(pol, `event-bus/`+p.Bus) || !strings.Contains(pol, "${data.aws_caller_identity.current.account_id}") {
			t.Errorf("%s: policy %s", fn.Name, pol)
		}
		for i, ev := range fn.Events {
			rid := id + "_" + itoa(i)
			r := res["aws_cloudwatch_event_rule."+rid]
			if r == nil {
				t.Fatalf("no rule %s", rid)
			}
			if got := str(r, "event_pattern"); got != compact(t, ev.Pattern) {
				t.Errorf("%s: pattern %s, want %s", rid, got, compact(t, ev.Pattern))
			}
			if str(r, "name") != aws.RuleName("shop", fn.Name+"-"+itoa(i)) {
				t.Errorf("%s: rule name %s", rid, str(r, "name"))
			}
			tg := res["aws_cloudwatch_event_target."+rid]
			if got := string(tg.Attributes["arn"].Expr.Range().SliceBytes(b)); got != "aws_lambda_alias."+id+"_live.arn" {
				t.Errorf("%s: target %s", rid, got)
			}
		}
	}
	for _, w := range p.Workflows {
		id := "workflow_" + strings.ReplaceAll(w.Name, "-", "_")
		sm := res["aws_sfn_state_machine."+id]
		if sm == nil {
			t.Fatalf("no aws_sfn_state_machine.%s", id)
		}
		def := string(sm.Attributes["definition"].Expr.Range().SliceBytes(b))
		if str(sm, "name") != "shop-"+w.Name || !strings.Contains(def, ":${data.aws_caller_identity.current.account_id}:function:shop-") {
			t.Errorf("workflow %s: name %s definition %s", w.Name, str(sm, "name"), def)
		}
		for i := range w.Events {
			tg := res["aws_cloudwatch_event_target."+id+"_"+itoa(i)]
			if tg == nil {
				t.Fatalf("workflow %s: no target %d", w.Name, i)
			}
			arn := string(tg.Attributes["arn"].Expr.Range().SliceBytes(b))
			role := string(tg.Attributes["role_arn"].Expr.Range().SliceBytes(b))
			if arn != "aws_sfn_state_machine."+id+".arn" || role != "aws_iam_role."+id+"_events.arn" {
				t.Errorf("workflow %s: target %s role %s", w.Name, arn, role)
			}
		}
	}
	var vars []string
	for _, blk := range body.Blocks {
		if blk.Type == "variable" {
			vars = append(vars, blk.Labels[0])
			if s, d := blk.Body.Attributes["sensitive"].Expr.Value(nil); d.HasErrors() || !s.True() {
				t.Errorf("variable %s is not sensitive", blk.Labels[0])
			}
		}
	}
	if hasSecrets(p) != (len(vars) > 0) {
		t.Errorf("variables %v", vars)
	}
}

func hasSecrets(p *project.Project) bool {
	for _, fn := range p.Functions {
		if len(fn.Secrets) > 0 {
			return true
		}
	}
	return false
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// camel is the logical id base of a function: "order-created" -> "OrderCreated".
func camel(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func TestExportCheckNamesTheChangedField(t *testing.T) {
	dir := exportProject(t, "fan-out")
	e := exportEnv(t, dir)
	for _, c := range []struct{ format, file, field string }{
		{"cloudformation", "template.yaml", "~ Resources.InventoryFunction.Properties.MemorySize: 128 -> 512"},
		{"sam", "template.yaml", "~ Resources.InventoryFunction.Properties.MemorySize: 128 -> 512"},
		{"terraform", "main.tf", "~ resource.aws_lambda_function.inventory.memory_size: 128 -> 512"},
	} {
		out := filepath.Join(dir, "infra", c.format)
		if code := e.run("export", "--format", c.format, "--dir", out); code != 0 {
			t.Fatalf("%s: exit %d\n%s", c.format, code, e.errOut)
		}
		committed := filepath.Join(out, c.file)
		if code := e.run("export", "--check", committed); code != 0 {
			t.Fatalf("%s: --check of a fresh export: exit %d\n%s%s", c.format, code, e.out, e.errOut)
		}
	}
	yaml, _ := os.ReadFile(filepath.Join(dir, "evcli.yaml"))
	changed := strings.Replace(string(yaml), "memory: 128", "memory: 512", 1) // inventory is first
	os.WriteFile(filepath.Join(dir, "evcli.yaml"), []byte(changed), 0o644)
	for _, c := range []struct{ format, file, field string }{
		{"cloudformation", "template.yaml", "~ Resources.InventoryFunction.Properties.MemorySize: 128 -> 512"},
		{"sam", "template.yaml", "~ Resources.InventoryFunction.Properties.MemorySize: 128 -> 512"},
		{"terraform", "main.tf", "~ resource.aws_lambda_function.inventory.memory_size: 128 -> 512"},
	} {
		committed := filepath.Join(dir, "infra", c.format, c.file)
		if code := e.run("export", "--check", committed); code != 2 {
			t.Fatalf("%s: --check after a memory change: exit %d, want 2\n%s%s", c.format, code, e.out, e.errOut)
		}
		if !strings.Contains(e.out.String(), c.field+"\n") {
			t.Errorf("%s: stdout does not name the field %q:\n%s", c.format, c.field, e.out)
		}
		if !strings.Contains(e.errOut.String(), "no longer matches evcli.yaml") {
			t.Errorf("%s: stderr %s", c.format, e.errOut)
		}
	}
	if code := e.run("export", "--check", filepath.Join(dir, "infra", "cloudformation", "template.yaml"), "--log-retention", "30"); code != 2 ||
		!strings.Contains(e.out.String(), "~ Resources.InventoryLogGroup.Properties.RetentionInDays: 14 -> 30\n") {
		t.Errorf("--log-retention 30: exit %d\n%s", code, e.out)
	}
	if code := e.run("export", "--check", filepath.Join(dir, "infra", "terraform", "main.tf"), "-o", "json"); code != 2 ||
		!strings.Contains(e.out.String(), `"path":"resource.aws_lambda_function.inventory.memory_size"`) {
		t.Errorf("-o json: exit %d\n%s", code, e.out)
	}
}

func TestExportUsageErrors(t *testing.T) {
	t.Setenv("AZURE_SUBSCRIPTION_ID", "")
	t.Setenv("EVCLI_AZURE_SUBSCRIPTION", "")
	dir := exportProject(t, "saga")
	e := exportEnv(t, dir)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"export"}, 2, "export needs --format cloudformation|sam|terraform"},
		{[]string{"export", "--format", "cloudfromation"}, 2, `--format "cloudfromation" (did you mean cloudformation?)`},
		{[]string{"export", "--check", filepath.Join(dir, "missing.yaml")}, 2, "--check: open"},
		{[]string{"export", "--check", "x.yaml", "--dir", "y"}, 2, "cannot be combined with --dir"},
		{[]string{"export", "--format", "sam", "--log-retention", "13"}, 2, "--log-retention 13: CloudWatch Logs keeps logs for one of 1, 3, 5"},
		{[]string{"export", "--format", "sam", "--provider", "local"}, 2, "export is not available on local: it runs on this machine"},
		{[]string{"export", "--format", "terraform", "--provider", "azure"}, 4, "no Azure subscription is set"},
	} {
		code := e.run(c.args...)
		if code != c.code || !strings.Contains(e.errOut.String(), c.msg) {
			t.Errorf("%v: exit %d, want %d with %q\n%s", c.args, code, c.code, c.msg, e.errOut)
		}
	}
}

// A project with workflows is exported with them, in each format: the
// state machine, its role and log group, and the rule that starts it with
// the role EventBridge assumes (checkCFN and checkTerraform say what), and
// --check of that export passes.
func TestExportIncludesWorkflows(t *testing.T) {
	dir := exportProject(t, "saga-orchestrated")
	e := exportEnv(t, dir)
	p := loadExported(t, dir)
	if len(p.Workflows) != 1 || len(p.Workflows[0].Events) != 1 {
		t.Fatalf("workflows %+v", p.Workflows)
	}
	for _, format := range []string{"cloudformation", "sam", "terraform"} {
		out := filepath.Join(dir, "infra", format)
		if code := e.run("export", "--format", format, "--dir", out); code != 0 {
			t.Fatalf("%s: exit %d\n%s", format, code, e.errOut)
		}
		name := "template.yaml"
		if format == "terraform" {
			name = "main.tf"
		}
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if format == "terraform" {
			checkTerraform(t, p, out, b)
		} else {
			checkCFN(t, p, out, b, format == "sam")
		}
		if code := e.run("export", "--check", filepath.Join(out, name)); code != 0 {
			t.Errorf("%s: --check of a fresh export: exit %d\n%s%s", format, code, e.out, e.errOut)
		}
	}
}
