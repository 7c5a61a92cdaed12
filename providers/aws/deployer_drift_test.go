package aws

import (
	"slices"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/providers"
)

// What evcli owns besides the function's configuration and rules — the
// role's documents, the log group's retention, a rule's state — changed
// outside evcli is a planned change of the function, and the deploy puts
// it back; the next deploy makes no mutating call.
func TestDriftOutsideEvcliIsPlannedAndConverges(t *testing.T) {
	role := RoleNameIn("shop", "orders", "us-east-1")
	tests := []struct {
		name   string
		drift  func(e *deployEnv)
		change func(fd *providers.FunctionDeployment)
		field  string
		want   []string // the mutating actions, in order
	}{
		{
			name: "rule disabled",
			drift: func(e *deployEnv) {
				ec := eventbridge.NewFromConfig(e.srv.Config(e.ctx))
				if _, err := ec.DisableRule(e.ctx, &eventbridge.DisableRuleInput{Name: awssdk.String("shop-orders-0"), EventBusName: awssdk.String("shop-bus")}); err != nil {
					e.t.Fatal(err)
				}
			},
			field: "rule shop-orders-0 disabled -> enabled",
			want:  []string{"PutRule"},
		},
		{
			name: "inline policy edited",
			drift: func(e *deployEnv) {
				ic := iam.NewFromConfig(e.srv.Config(e.ctx))
				doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["events:PutEvents"],"Resource":["*"]}]}`
				if _, err := ic.PutRolePolicy(e.ctx, &iam.PutRolePolicyInput{RoleName: awssdk.String(role), PolicyName: awssdk.String("evcli"), PolicyDocument: awssdk.String(doc)}); err != nil {
					e.t.Fatal(err)
				}
			},
			field: "role policy",
			want:  []string{"PutRolePolicy"},
		},
		{
			name: "trust policy edited",
			drift: func(e *deployEnv) {
				ic := iam.NewFromConfig(e.srv.Config(e.ctx))
				doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
				if _, err := ic.UpdateAssumeRolePolicy(e.ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: awssdk.String(role), PolicyDocument: awssdk.String(doc)}); err != nil {
					e.t.Fatal(err)
				}
			},
			field: "role trust policy",
			want:  []string{"UpdateAssumeRolePolicy"},
		},
		{
			name: "basic execution detached",
			drift: func(e *deployEnv) {
				ic := iam.NewFromConfig(e.srv.Config(e.ctx))
				if _, err := ic.DetachRolePolicy(e.ctx, &iam.DetachRolePolicyInput{RoleName: awssdk.String(role), PolicyArn: awssdk.String(basicExecutionPolicyARN("aws"))}); err != nil {
					e.t.Fatal(err)
				}
			},
			field: "role AWSLambdaBasicExecutionRole detached",
			want:  []string{"AttachRolePolicy"},
		},
		{
			name: "log retention changed",
			drift: func(e *deployEnv) {
				lc := cloudwatchlogs.NewFromConfig(e.srv.Config(e.ctx))
				if _, err := lc.PutRetentionPolicy(e.ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: awssdk.String("/aws/lambda/shop-orders"), RetentionInDays: awssdk.Int32(7)}); err != nil {
					e.t.Fatal(err)
				}
			},
			field: "log retention 7 -> 14 days",
			want:  []string{"PutRetentionPolicy"},
		},
		{
			name:   "reserved concurrency removed from evcli.yaml",
			drift:  func(e *deployEnv) {},
			change: func(fd *providers.FunctionDeployment) { fd.Concurrency = 0 },
			field:  "concurrency 5 -> 0",
			want:   []string{"DeleteFunctionConcurrency"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeployEnv(t, func(o *DeployerOptions) { o.LogRetentionDays = 14 })
			desired := e.named(e.three())
			desired[0].Concurrency = 5
			e.mustDeploy(desired, false)
			e.noChange(desired)
			tt.drift(e)
			if tt.change != nil {
				tt.change(&desired[0])
			}
			e.srv.ResetCalls()
			plan := e.mustDeploy(desired, false)
			want := map[string]deploy.Action{"orders": deploy.Update, "billing": deploy.Unchanged, "shipping": deploy.Unchanged}
			if got := actions(plan); !mapsEqual(got, want) {
				t.Errorf("plan = %v, want %v", got, want)
			}
			var fields []string
			for _, f := range plan[0].Fields {
				fields = append(fields, f.String())
			}
			if !slices.Equal(fields, []string{tt.field}) {
				t.Errorf("fields = %q, want %q", fields, tt.field)
			}
			var acts []string
			for _, m := range e.mutating() {
				a, _, _ := strings.Cut(m, " ")
				acts = append(acts, a)
			}
			if !slices.Equal(acts, tt.want) {
				t.Errorf("mutating calls = %q, want %q", e.mutating(), tt.want)
			}
			e.noChange(desired)
		})
	}
}

// --log-retention on an unchanged project is a planned change of every
// function, not "Nothing to do"; without the flag, retention is left as it
// is.
func TestLogRetentionSettingIsPlanned(t *testing.T) {
	e := newDeployEnv(t, nil)
	desired := e.named(e.three())
	e.mustDeploy(desired, false)
	e30 := newDeployEnvOn(t, e.srv, "shop")
	o := e30.d.o
	o.LogRetentionDays = 30
	e30.d = NewDeployer(e.srv.Config(e.ctx), o)
	plan := e30.mustDeploy(desired, false)
	for _, c := range plan {
		if c.Action != deploy.Update || len(c.Fields) != 1 || c.Fields[0].Field != "log retention 14 -> 30 days" {
			t.Errorf("%s: %s %v", c.Name, c.Action, c.Fields)
		}
	}
	if g, _ := e.srv.LogGroup("/aws/lambda/shop-orders"); g.RetentionDays != 30 {
		t.Errorf("retention = %d", g.RetentionDays)
	}
	e30.noChange(desired)
	e.noChange(desired)
}

// Adding store: dynamodb to a deployed project gives every function's role
// access to the table: a planned role-policy update of each function (not
// "Nothing to do"), one PutRolePolicy each, and then no change; removing
// the store takes the access away again.
func TestAddingTheStoreUpdatesEveryRolePolicy(t *testing.T) {
	shim := testenv.NewTTLShim(t, dynaliteEndpoint(t))
	e := newDeployEnv(t, nil)
	desired := e.named(e.three())
	e.mustDeploy(desired, false)
	withTable := func(table *TableSpec) *deployEnv {
		e2 := newDeployEnvOn(t, e.srv, "shop")
		o := e2.d.o
		o.Table = table
		e2.d = NewDeployer(e.srv.Config(e.ctx), o)
		e2.d.ddb = dynamodb.NewFromConfig(e.srv.Config(e.ctx), func(o *dynamodb.Options) { o.BaseEndpoint = awssdk.String(shim.URL) })
		return e2
	}
	for _, step := range []struct {
		name  string
		table *TableSpec
		has   bool
	}{
		{"store added", &TableSpec{Name: "shop-events", PartitionKey: "aggregateId", SortKey: "timestamp"}, true},
		{"store removed", nil, false},
	} {
		t.Run(step.name, func(t *testing.T) {
			e2 := withTable(step.table)
			e2.t = t
			e.srv.ResetCalls()
			plan := e2.mustDeploy(desired, false)
			for _, c := range plan {
				if c.Action != deploy.Update || len(c.Fields) != 1 || c.Fields[0].String() != "role policy" {
					t.Errorf("%s: %s %v, want update of the role policy", c.Name, c.Action, c.Fields)
				}
			}
			var puts []string
			for _, m := range e.srv.MutatingCalls() {
				if !strings.Contains(m.Resource, StoreWriterFunction) { // the writer that fills the table: TestStoreWriterFillsTheStore
					puts = append(puts, m.Action+" "+m.Resource)
				}
			}
			slices.Sort(puts)
			want := []string{"PutRolePolicy " + RoleNameIn("shop", "billing", "us-east-1"), "PutRolePolicy " + RoleNameIn("shop", "orders", "us-east-1"),
				"PutRolePolicy " + RoleNameIn("shop", "shipping", "us-east-1")}
			if !slices.Equal(puts, want) {
				t.Errorf("mutating calls = %q, want one PutRolePolicy per function", puts)
			}
			for _, fd := range desired {
				r, _ := e.srv.Role(RoleNameIn("shop", fd.Name, "us-east-1"))
				if got := strings.Contains(r.Inline["evcli"], ":table/shop-events"); got != step.has {
					t.Errorf("%s: role grants the table = %v, want %v:\n%s", fd.Name, got, step.has, r.Inline["evcli"])
				}
			}
			e2.noChange(desired)
		})
	}
}
