package aws

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/export"
	"github.com/evcli/evcli/internal/awsproject"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/aws/awstest"
	"github.com/evcli/evcli/templates"
	"github.com/evcli/evcli/workflow"
)

// The round trip: each template is exported as CloudFormation, the
// template's resources are created in one awstest account by a small
// interpreter (resource type -> the API calls CloudFormation makes), and
// the same project is deployed with evcli's own deployer into another.
// Then evcli deploy --dry-run (deploy.Run) against the first reports no
// change, and the two accounts hold the same resources, compared one by
// one: function settings, code, tags, roles and their policies, log
// groups, the bus, rules with patterns, targets and permissions.
//
// awstest has no DynamoDB: each account gets tableFake, the control plane
// of DynamoDB tables (create, describe, TTL), so the event-sourcing
// template carries its table with TTL and the writer through the round trip.

func TestExportCloudFormationRoundTrip(t *testing.T) {
	for _, tmpl := range templates.Names {
		t.Run(tmpl, func(t *testing.T) {
			ctx := context.Background()
			fromTemplate := awstest.New(awstest.WithSettleReads(0))
			t.Cleanup(fromTemplate.Close)
			direct := awstest.New(awstest.WithSettleReads(0))
			t.Cleanup(direct.Close)

			p := roundTripProject(t, tmpl, fromTemplate.Region())
			o := DeployerOptions{Project: p.Name, Bus: p.Bus, Sleep: func(context.Context, time.Duration) error { return nil }}
			for _, fn := range p.Functions {
				o.Functions = append(o.Functions, fn.Name)
			}
			o.Workflows = workflow.Specs(p)
			if p.Store.Type == "dynamodb" {
				o.Table = deployerOptions(providers.OpenOptions{Store: providers.StoreSpec{Type: "dynamodb", Table: p.Store.Table, TTLDays: p.Store.TTLDays,
					Keys: providers.StoreKeys{Aggregate: p.Store.Keys.Aggregate, Sort: p.Store.Keys.Sort, Version: p.Store.Keys.Version, TTL: p.Store.Keys.TTL}}}).Table
			}
			tablesT, tablesD := newTableFake(t), newTableFake(t)
			desired, err := export.Desired(ctx, export.Options{Project: p})
			if err != nil {
				t.Fatal(err)
			}
			ex, err := NewExporter(fromTemplate.Region(), o).Export(ctx, desired, providers.FormatCloudFormation)
			if err != nil {
				t.Fatal(err)
			}
			applyCFN(t, fromTemplate, tablesT, ex)

			// deploy --dry-run against the account deployed from the
			// template: nothing to do.
			d := NewDeployer(fromTemplate.Config(ctx), o)
			d.ddb = tablesT.client()
			sum, err := deploy.Run(ctx, d, d, deploy.RunOptions{Project: p, DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range sum.Plan {
				if c.Action != deploy.Unchanged {
					t.Errorf("dry run after the template: %s %s %s %v", c.Action, c.Kind, c.Name, c.Fields)
				}
			}
			want := len(p.Functions) + 1 + len(p.Workflows) // the functions, the bus and the state machines
			if o.Table != nil {
				want += 2 // the table and the writer
			}
			if len(sum.Plan) != want {
				t.Errorf("plan has %d changes, want %d", len(sum.Plan), want)
			}

			dd := NewDeployer(direct.Config(ctx), o)
			dd.ddb = tablesD.client()
			if sum, err := deploy.Run(ctx, dd, dd, deploy.RunOptions{Project: p}); err != nil || len(sum.Failures) > 0 {
				t.Fatalf("direct deploy: %v %v", err, sum.Failures)
			}
			sameAccounts(t, direct, fromTemplate)
			if n := len(p.Workflows); n > 0 {
				rule := RuleName(p.Name, "workflow-order-0")
				tg := fromTemplate.Targets(p.Bus, rule)
				if len(fromTemplate.StateMachines()) != n || len(tg) != 1 || !strings.Contains(tg[0].Arn, ":stateMachine:") || tg[0].RoleArn == "" {
					t.Errorf("state machines %v, rule %s targets %+v", fromTemplate.StateMachines(), rule, tg)
				}
			}
			same(t, "tables", tablesD.snapshot(), tablesT.snapshot())
			if o.Table != nil && len(tablesT.snapshot()) != 1 {
				t.Errorf("tables %v", tablesT.snapshot())
			}
		})
	}
}

// roundTripProject renders a template as project shop on aws in region
// (awsproject.Render).
func roundTripProject(t *testing.T, tmpl, region string) *project.Project {
	t.Helper()
	dir := awsproject.Render(t, tmpl, region, withWorkflowEvents)
	p, err := project.Load(filepath.Join(dir, "evcli.yaml"), project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// withWorkflowEvents gives the saga-orchestrated template's workflow a
// rule (events:), so that the rule targeting the state machine and the
// role EventBridge assumes go through the round trip too.
func withWorkflowEvents(y string) string {
	return strings.Replace(y, "    definition: saga.asl.json\n", "    definition: saga.asl.json\n    events:\n      - pattern: {source: [shop.orders], detail-type: [OrderPlaced]}\n", 1)
}

// cfnRun applies a template's resources to awstest as CloudFormation
// would: in dependency order (by type suffices for what evcli exports),
// resolving Ref, GetAtt and Sub.
type cfnRun struct {
	t      *testing.T
	ctx    context.Context
	srv    *awstest.Server
	refs   map[string]string // logical id -> what Ref returns
	atts   map[string]string // "Id.Attr" -> what GetAtt returns
	lambda *lambda.Client
	iam    *iam.Client
	events *eventbridge.Client
	logs   *cloudwatchlogs.Client
	ddb    *dynamodb.Client
	sfn    *sfn.Client
}

const roundTripBucket = "artifacts"

func applyCFN(t *testing.T, srv *awstest.Server, tables *tableFake, ex *providers.Export) {
	t.Helper()
	ctx := context.Background()
	cfg := srv.Config(ctx)
	tpl, err := ParseCFN(export.Template(ex).Data)
	if err != nil {
		t.Fatal(err)
	}
	// The pipeline's first step: the zips go to the artifact bucket at
	// the paths they were written to.
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String(roundTripBucket)}); err != nil {
		t.Fatal(err)
	}
	for _, f := range ex.Files[1:] {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String(roundTripBucket), Key: awssdk.String(f.Path),
			Body: strings.NewReader(string(f.Data)), ContentLength: awssdk.Int64(int64(len(f.Data)))}); err != nil {
			t.Fatal(err)
		}
	}
	r := &cfnRun{t: t, ctx: ctx, srv: srv, ddb: tables.client(), refs: map[string]string{cfnArtifactBucket: roundTripBucket}, atts: map[string]string{},
		lambda: lambda.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), events: eventbridge.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg),
		sfn: sfn.NewFromConfig(cfg)}
	order := []string{cfnTypeBus, cfnTypeTable, cfnTypeRole, cfnTypeLogGroup, cfnTypeFunction, cfnTypeVersion, cfnTypeAlias, cfnTypeSFN, cfnTypeRule, cfnTypePermission}
	ids := make([]string, 0, len(tpl.Resources))
	for id := range tpl.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	done := 0
	for _, typ := range order {
		for _, id := range ids {
			if res := tpl.Resources[id]; res.Type == typ {
				r.apply(id, res)
				done++
			}
		}
	}
	if done != len(tpl.Resources) {
		t.Fatalf("applied %d of %d resources: a type the interpreter does not know", done, len(tpl.Resources))
	}
}

func (r *cfnRun) str(s CFNString) string {
	r.t.Helper()
	switch s.Fn {
	case "":
		return s.Arg
	case "Ref":
		v, ok := r.refs[s.Arg]
		if !ok {
			r.t.Fatalf("!Ref %s: not created yet", s.Arg)
		}
		return v
	case "GetAtt":
		v, ok := r.atts[s.Arg]
		if !ok {
			r.t.Fatalf("!GetAtt %s: not created yet", s.Arg)
		}
		return v
	case "Sub":
		return strings.NewReplacer(phPartition, "aws", phAccount, r.srv.Account(), phRegion, r.srv.Region(), "${!", "${").Replace(s.Arg)
	}
	r.t.Fatalf("unknown intrinsic %s", s.Fn)
	return ""
}

func (r *cfnRun) json(j CFNJSON) string {
	r.t.Helper()
	b, err := j.JSON(func(s CFNString) (string, error) { return r.str(s), nil })
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

func (r *cfnRun) ok(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *cfnRun) apply(id string, res CFNResource) {
	t, ctx := r.t, r.ctx
	t.Helper()
	var err error
	switch p := res.Properties.(type) {
	case *CFNBus:
		_, err = r.events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: awssdk.String(p.Name), Tags: ebTagsOf(p.Tags)})
		r.ok(err)
		r.refs[id] = p.Name
	case *CFNTable:
		in := &dynamodb.CreateTableInput{TableName: awssdk.String(p.TableName), BillingMode: ddbtypes.BillingMode(p.BillingMode)}
		for _, a := range p.AttributeDefinitions {
			in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: awssdk.String(a.AttributeName), AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType)})
		}
		for _, k := range p.KeySchema {
			in.KeySchema = append(in.KeySchema, ddbtypes.KeySchemaElement{AttributeName: awssdk.String(k.AttributeName), KeyType: ddbtypes.KeyType(k.KeyType)})
		}
		for _, tg := range p.Tags {
			in.Tags = append(in.Tags, ddbtypes.Tag{Key: awssdk.String(tg.Key), Value: awssdk.String(tg.Value)})
		}
		_, err = r.ddb.CreateTable(ctx, in)
		r.ok(err)
		if ttl := p.TimeToLiveSpecification; ttl != nil {
			_, err = r.ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: awssdk.String(p.TableName),
				TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: awssdk.String(ttl.AttributeName), Enabled: awssdk.Bool(ttl.Enabled)}})
			r.ok(err)
		}
		r.refs[id] = p.TableName
	case *CFNRole:
		out, err := r.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: awssdk.String(p.RoleName), Description: awssdk.String(p.Description),
			AssumeRolePolicyDocument: awssdk.String(r.json(p.AssumeRolePolicyDocument)), Tags: iamTagsOf(p.Tags)})
		r.ok(err)
		for _, arn := range p.ManagedPolicyArns {
			_, err = r.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: awssdk.String(p.RoleName), PolicyArn: awssdk.String(r.str(arn))})
			r.ok(err)
		}
		for _, pol := range p.Policies {
			_, err = r.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String(p.RoleName), PolicyName: awssdk.String(pol.PolicyName),
				PolicyDocument: awssdk.String(r.json(pol.PolicyDocument))})
			r.ok(err)
		}
		r.refs[id], r.atts[id+".Arn"] = p.RoleName, awssdk.ToString(out.Role.Arn)
	case *CFNLogGroup:
		tags := map[string]string{}
		for _, tg := range p.Tags {
			tags[tg.Key] = tg.Value
		}
		_, err = r.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: awssdk.String(p.LogGroupName), Tags: tags})
		r.ok(err)
		_, err = r.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: awssdk.String(p.LogGroupName),
			RetentionInDays: awssdk.Int32(int32(p.RetentionInDays))})
		r.ok(err)
		r.refs[id] = p.LogGroupName
	case *CFNFunction:
		in := &lambda.CreateFunctionInput{FunctionName: awssdk.String(p.FunctionName), Role: awssdk.String(r.str(p.Role)),
			Runtime: ltypes.Runtime(p.Runtime), Handler: awssdk.String(p.Handler), MemorySize: int32p(p.MemorySize), Timeout: int32p(p.Timeout),
			Code: &ltypes.FunctionCode{S3Bucket: awssdk.String(r.str(p.Code.S3Bucket)), S3Key: awssdk.String(p.Code.S3Key)},
			Tags: map[string]string{}, PackageType: ltypes.PackageTypeZip}
		for _, a := range p.Architectures {
			in.Architectures = append(in.Architectures, ltypes.Architecture(a))
		}
		for _, tg := range p.Tags {
			in.Tags[tg.Key] = tg.Value
		}
		if p.Environment != nil {
			in.Environment = &ltypes.Environment{Variables: map[string]string{}}
			for k, v := range p.Environment.Variables {
				in.Environment.Variables[k] = r.str(v)
			}
		}
		out, err := r.lambda.CreateFunction(ctx, in)
		r.ok(err)
		if p.ReservedConcurrentExecutions > 0 {
			_, err = r.lambda.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: awssdk.String(p.FunctionName),
				ReservedConcurrentExecutions: awssdk.Int32(int32(p.ReservedConcurrentExecutions))})
			r.ok(err)
		}
		r.refs[id], r.atts[id+".Arn"] = p.FunctionName, awssdk.ToString(out.FunctionArn)
	case *CFNVersion:
		out, err := r.lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: awssdk.String(r.str(p.FunctionName)), Description: awssdk.String(p.Description)})
		r.ok(err)
		r.refs[id], r.atts[id+".Version"] = awssdk.ToString(out.FunctionArn), awssdk.ToString(out.Version)
	case *CFNAlias:
		out, err := r.lambda.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: awssdk.String(r.str(p.FunctionName)), Name: awssdk.String(p.Name),
			FunctionVersion: awssdk.String(r.str(p.FunctionVersion)), Description: awssdk.String(p.Description)})
		r.ok(err)
		r.refs[id] = awssdk.ToString(out.AliasArn)
	case *CFNRule:
		bus := "default"
		if !p.EventBusName.IsZero() {
			bus = r.str(p.EventBusName)
		}
		out, err := r.events.PutRule(ctx, &eventbridge.PutRuleInput{Name: awssdk.String(p.Name), EventBusName: awssdk.String(bus),
			EventPattern: awssdk.String(r.json(p.EventPattern)), Description: awssdk.String(p.Description), State: ebtypes.RuleState(p.State), Tags: ebTagsOf(p.Tags)})
		r.ok(err)
		var targets []ebtypes.Target
		for _, tg := range p.Targets {
			target := ebtypes.Target{Id: awssdk.String(tg.Id), Arn: awssdk.String(r.str(tg.Arn))}
			if !tg.RoleArn.IsZero() {
				target.RoleArn = awssdk.String(r.str(tg.RoleArn))
			}
			targets = append(targets, target)
		}
		_, err = r.events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: awssdk.String(p.Name), EventBusName: awssdk.String(bus), Targets: targets})
		r.ok(err)
		r.refs[id], r.atts[id+".Arn"] = p.Name, awssdk.ToString(out.RuleArn)
	case *CFNStateMachine:
		in := &sfn.CreateStateMachineInput{Name: awssdk.String(p.StateMachineName), Type: sfntypes.StateMachineType(p.StateMachineType),
			Definition: awssdk.String(r.str(p.DefinitionString)), RoleArn: awssdk.String(r.str(p.RoleArn))}
		if lc := p.LoggingConfiguration; lc != nil {
			in.LoggingConfiguration = &sfntypes.LoggingConfiguration{Level: sfntypes.LogLevel(lc.Level), IncludeExecutionData: lc.IncludeExecutionData}
			for _, d := range lc.Destinations {
				in.LoggingConfiguration.Destinations = append(in.LoggingConfiguration.Destinations, sfntypes.LogDestination{
					CloudWatchLogsLogGroup: &sfntypes.CloudWatchLogsLogGroup{LogGroupArn: awssdk.String(r.str(d.CloudWatchLogsLogGroup.LogGroupArn))}})
			}
		}
		for _, tg := range p.Tags {
			in.Tags = append(in.Tags, sfntypes.Tag{Key: awssdk.String(tg.Key), Value: awssdk.String(tg.Value)})
		}
		out, err := r.sfn.CreateStateMachine(ctx, in)
		r.ok(err)
		r.refs[id] = awssdk.ToString(out.StateMachineArn) // Ref of a state machine is its ARN
	case *CFNPermission:
		// CloudFormation chooses the statement id: not evcli's.
		_, err = r.lambda.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: awssdk.String(r.str(p.FunctionName)), StatementId: awssdk.String("cfn-" + id),
			Action: awssdk.String(p.Action), Principal: awssdk.String(p.Principal), SourceArn: awssdk.String(r.str(p.SourceArn))})
		r.ok(err)
	default:
		t.Fatalf("%s: %s is not applied by the interpreter", id, res.Type)
	}
}

func ebTagsOf(tags []CFNTag) []ebtypes.Tag {
	out := make([]ebtypes.Tag, len(tags))
	for i, tg := range tags {
		out[i] = ebtypes.Tag{Key: awssdk.String(tg.Key), Value: awssdk.String(tg.Value)}
	}
	return out
}

func iamTagsOf(tags []CFNTag) []iamtypes.Tag {
	out := make([]iamtypes.Tag, len(tags))
	for i, tg := range tags {
		out[i] = iamtypes.Tag{Key: awssdk.String(tg.Key), Value: awssdk.String(tg.Value)}
	}
	return out
}

// sameJSON compares two JSON documents as values.
func sameJSON(t *testing.T, what, a, b string) {
	t.Helper()
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil || !reflect.DeepEqual(va, vb) {
		t.Errorf("%s differs:\n deploy:   %s\n template: %s", what, a, b)
	}
}

func same[T any](t *testing.T, what string, a, b T) {
	t.Helper()
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s differs: deploy %v, template %v", what, a, b)
	}
}

// sameAccounts compares, resource by resource, what evcli deploy made in
// a with what the template made in b.
func sameAccounts(t *testing.T, a, b *awstest.Server) {
	t.Helper()
	same(t, "functions", a.FunctionNames(), b.FunctionNames())
	for _, name := range a.FunctionNames() {
		fa, _ := a.Function(name)
		fb, _ := b.Function(name)
		w := "function " + name + " "
		same(t, w+"runtime/handler", fa.Runtime+" "+fa.Handler, fb.Runtime+" "+fb.Handler)
		same(t, w+"memory/timeout", [2]int32{fa.MemorySize, fa.Timeout}, [2]int32{fb.MemorySize, fb.Timeout})
		same(t, w+"architectures", fa.Architectures, fb.Architectures)
		same(t, w+"environment", fa.Environment, fb.Environment)
		same(t, w+"code", fa.CodeSha256, fb.CodeSha256)
		same(t, w+"role", fa.Role, fb.Role)
		same(t, w+"tags", fa.Tags, fb.Tags)
		same(t, w+"reserved concurrency", fa.ReservedConcurrency, fb.ReservedConcurrency)
		la, lb := fa.Aliases[AliasLive], fb.Aliases[AliasLive]
		if la.Version == "" || lb.Version == "" {
			t.Errorf("%s: live alias %q / %q", name, la.Version, lb.Version)
		}
		grants := func(f awstest.FunctionState) []string {
			var out []string
			for _, st := range f.Policy {
				out = append(out, st.Qualifier+" "+st.Action+" "+st.Principal+" "+st.SourceArn)
			}
			slices.Sort(out)
			return out
		}
		same(t, w+"permissions", grants(fa), grants(fb))

		ra, oka := a.Role(roleOf(fa.Role))
		rb, okb := b.Role(roleOf(fb.Role))
		if !oka || !okb {
			t.Fatalf("%s: role %s: %v %v", name, fa.Role, oka, okb)
		}
		sameJSON(t, w+"trust policy", ra.AssumeRolePolicy, rb.AssumeRolePolicy)
		same(t, w+"role policies", slices.Sorted(mapsKeys(ra.Inline)), slices.Sorted(mapsKeys(rb.Inline)))
		for k := range ra.Inline {
			sameJSON(t, w+"role policy "+k, ra.Inline[k], rb.Inline[k])
		}
		same(t, w+"managed policies", ra.Attached, rb.Attached)
		same(t, w+"role tags", ra.Tags, rb.Tags)
		same(t, w+"role description", ra.Description, rb.Description)

		ga, _ := a.LogGroup(DefaultLogGroupPrefix + name)
		gb, _ := b.LogGroup(DefaultLogGroupPrefix + name)
		same(t, w+"log group", [2]any{ga.RetentionDays, ga.Tags}, [2]any{gb.RetentionDays, gb.Tags})
	}
	ma, mb := a.StateMachines(), b.StateMachines()
	same(t, "state machines", slices.Sorted(mapsKeysOf(ma)), slices.Sorted(mapsKeysOf(mb)))
	for name, sa := range ma {
		sb := mb[name]
		w := "state machine " + name + " "
		same(t, w+"definition", sa.Definition, sb.Definition)
		same(t, w+"type/role", sa.Type+" "+sa.RoleArn, sb.Type+" "+sb.RoleArn)
		sameJSON(t, w+"logging", string(sa.Logging), string(sb.Logging))
		same(t, w+"tags", sa.Tags, sb.Tags)
		for _, role := range []string{roleOf(sa.RoleArn), StateMachineEventsRoleName("shop", sa.Tags[tagWorkflow], a.Region())} {
			ra, oka := a.Role(role)
			rb, okb := b.Role(role)
			if oka != okb {
				t.Errorf("%srole %s: deploy %v, template %v", w, role, oka, okb)
				continue
			}
			sameJSON(t, w+"role "+role+" trust", ra.AssumeRolePolicy, rb.AssumeRolePolicy)
			for k := range ra.Inline {
				sameJSON(t, w+"role "+role+" policy "+k, ra.Inline[k], rb.Inline[k])
			}
			same(t, w+"role "+role+" tags/description", [2]any{ra.Tags, ra.Description}, [2]any{rb.Tags, rb.Description})
		}
		group := StateMachineLogGroup("shop", sa.Tags[tagWorkflow])
		ga, oka := a.LogGroup(group)
		gb, okb := b.LogGroup(group)
		if !oka || !okb {
			t.Errorf("%slog group %s: deploy %v, template %v", w, group, oka, okb)
		}
		same(t, w+"log group", [2]any{ga.RetentionDays, ga.Tags}, [2]any{gb.RetentionDays, gb.Tags})
	}
	same(t, "buses", a.BusNames(), b.BusNames())
	for _, bus := range a.BusNames() {
		ba, _ := a.Bus(bus)
		bb, _ := b.Bus(bus)
		same(t, "bus "+bus+" tags", ba.Tags, bb.Tags)
		same(t, "bus "+bus+" rules", ba.Rules, bb.Rules)
		for _, rule := range ba.Rules {
			xa, _ := a.Rule(bus, rule)
			xb, _ := b.Rule(bus, rule)
			w := "rule " + rule + " "
			same(t, w+"pattern", xa.EventPattern, xb.EventPattern)
			same(t, w+"description/state", xa.Description+" "+xa.State, xb.Description+" "+xb.State)
			same(t, w+"tags", xa.Tags, xb.Tags)
			ta, tb := a.Targets(bus, rule), b.Targets(bus, rule)
			if len(ta) != 1 || len(tb) != 1 || ta[0].ID != tb[0].ID || ta[0].Arn != tb[0].Arn || ta[0].RoleArn != tb[0].RoleArn {
				t.Errorf("%stargets: deploy %+v, template %+v", w, ta, tb)
			}
		}
	}
}

func mapsKeysOf[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func roleOf(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// tableFake is the control plane of DynamoDB tables on 127.0.0.1: what
// deploy and a template make of the event store (CreateTable,
// DescribeTable, UpdateTimeToLive, DescribeTimeToLive), in memory.
type tableFake struct {
	t      *testing.T
	url    string
	mu     sync.Mutex
	tables map[string]*fakeTable
}

type fakeTable struct {
	Name, Billing, TTL string
	Keys, Attributes   []string // "name HASH", "name S"
	Tags               map[string]string
}

func newTableFake(t *testing.T) *tableFake {
	f := &tableFake{t: t, tables: map[string]*fakeTable{}}
	hs := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(hs.Close)
	f.url = hs.URL
	return f
}

func (f *tableFake) client() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: awssdk.String(f.url), Retryer: awssdk.NopRetryer{},
		Credentials: awssdk.AnonymousCredentials{}})
}

func (f *tableFake) snapshot() map[string]fakeTable {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]fakeTable{}
	for k, v := range f.tables {
		out[k] = *v
	}
	return out
}

func (f *tableFake) serve(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	var in struct {
		TableName               string
		BillingMode             string
		KeySchema               []struct{ AttributeName, KeyType string }
		AttributeDefinitions    []struct{ AttributeName, AttributeType string }
		Tags                    []struct{ Key, Value string }
		TimeToLiveSpecification struct {
			AttributeName string
			Enabled       bool
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	reply := func(v any) { json.NewEncoder(w).Encode(v) }
	tb := f.tables[in.TableName]
	if tb == nil && op != "CreateTable" {
		w.WriteHeader(400)
		reply(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message": "Requested resource not found: Table: " + in.TableName + " not found"})
		return
	}
	desc := func(tb *fakeTable) map[string]any {
		var keys []map[string]string
		for _, k := range tb.Keys {
			name, typ, _ := strings.Cut(k, " ")
			keys = append(keys, map[string]string{"AttributeName": name, "KeyType": typ})
		}
		return map[string]any{"TableName": tb.Name, "TableStatus": "ACTIVE", "KeySchema": keys, "BillingModeSummary": map[string]string{"BillingMode": tb.Billing}}
	}
	switch op {
	case "CreateTable":
		if tb != nil {
			w.WriteHeader(400)
			reply(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#ResourceInUseException", "message": "Table already exists: " + in.TableName})
			return
		}
		tb = &fakeTable{Name: in.TableName, Billing: in.BillingMode, Tags: map[string]string{}}
		for _, k := range in.KeySchema {
			tb.Keys = append(tb.Keys, k.AttributeName+" "+k.KeyType)
		}
		for _, a := range in.AttributeDefinitions {
			tb.Attributes = append(tb.Attributes, a.AttributeName+" "+a.AttributeType)
		}
		for _, tg := range in.Tags {
			tb.Tags[tg.Key] = tg.Value
		}
		f.tables[in.TableName] = tb
		reply(map[string]any{"TableDescription": desc(tb)})
	case "DescribeTable":
		reply(map[string]any{"Table": desc(tb)})
	case "UpdateTimeToLive":
		tb.TTL = ""
		if in.TimeToLiveSpecification.Enabled {
			tb.TTL = in.TimeToLiveSpecification.AttributeName
		}
		reply(map[string]any{"TimeToLiveSpecification": in.TimeToLiveSpecification})
	case "DescribeTimeToLive":
		d := map[string]string{"TimeToLiveStatus": "DISABLED"}
		if tb.TTL != "" {
			d = map[string]string{"TimeToLiveStatus": "ENABLED", "AttributeName": tb.TTL}
		}
		reply(map[string]any{"TimeToLiveDescription": d})
	default:
		f.t.Errorf("tableFake: unexpected %s", op)
		w.WriteHeader(400)
		reply(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#UnknownOperationException", "message": op})
	}
}
