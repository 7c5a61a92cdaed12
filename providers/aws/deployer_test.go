package aws

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/aws/awstest"
)

// sleepRecorder is DeployerOptions.Sleep for tests: it never waits and
// remembers what it was asked to wait.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

type deployEnv struct {
	t     testing.TB
	srv   *awstest.Server
	d     *Deployer
	sleep *sleepRecorder
	dir   string
	ctx   context.Context
}

func newDeployEnv(t *testing.T, mod func(*DeployerOptions), fakeOpts ...awstest.Option) *deployEnv {
	t.Helper()
	srv := awstest.New(fakeOpts...)
	t.Cleanup(srv.Close)
	sl := &sleepRecorder{}
	o := DeployerOptions{Project: "shop", Bus: "shop-bus", Sleep: sl.Sleep}
	if mod != nil {
		mod(&o)
	}
	ctx := context.Background()
	return &deployEnv{t: t, srv: srv, d: NewDeployer(srv.Config(ctx), o), sleep: sl, dir: t.TempDir(), ctx: ctx}
}

// artifact writes a zip holding one file with content and returns its path
// and Lambda's CodeSha256 of it.
func (e *deployEnv) artifact(name, content string) (string, string) {
	e.t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		e.t.Fatal(err)
	}
	fmt.Fprint(w, content)
	if err := zw.Close(); err != nil {
		e.t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	p := filepath.Join(e.dir, fmt.Sprintf("%s-%x.zip", name, sum[:4]))
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p, base64.StdEncoding.EncodeToString(sum[:])
}

// fn is a desired function with one rule on the project's bus.
func (e *deployEnv) fn(name, code string) providers.FunctionDeployment {
	p, sha := e.artifact(name, code)
	return providers.FunctionDeployment{
		Name: name, Runtime: "provided.al2023", Handler: "bootstrap", Architecture: "x86_64",
		MemoryMB: 128, TimeoutS: 3, Concurrency: 0,
		Env:         map[string]string{"EVENT_BUS_NAME": "shop-bus", "API_TOKEN": "s3cr3t-" + name},
		SecretNames: []string{"API_TOKEN"},
		CodeSha256:  sha, ArtifactPath: p, Correlation: "$.detail.orderId",
		Rules: []providers.RuleSpec{{ID: name + "-0", Bus: "shop-bus",
			Pattern: json.RawMessage(fmt.Sprintf(`{"source":["shop"],"detail-type":["%s.requested"]}`, name))}},
	}
}

// deploy runs a deploy as the command does: shared resources, read, plan,
// apply. It fails the test on a shared-resource error and returns the plan
// and the per-function results.
func (e *deployEnv) deploy(desired []providers.FunctionDeployment, prune bool) ([]deploy.Change, []deploy.Result) {
	e.t.Helper()
	changes, err := e.d.PlanShared(e.ctx, prune)
	if err != nil {
		e.t.Fatalf("PlanShared: %v", err)
	}
	if err := e.d.ApplyShared(e.ctx, changes, nil); err != nil {
		e.t.Fatalf("ApplyShared: %v", err)
	}
	deployed, err := e.d.Deployed(e.ctx)
	if err != nil {
		e.t.Fatalf("Deployed: %v", err)
	}
	plan := deploy.Plan(desired, deployed, deploy.PlanOptions{Prune: prune})
	return plan, deploy.Apply(e.ctx, plan, e.d, deploy.ApplyOptions{Concurrency: 4})
}

func (e *deployEnv) mustDeploy(desired []providers.FunctionDeployment, prune bool) []deploy.Change {
	e.t.Helper()
	plan, results := e.deploy(desired, prune)
	for _, r := range results {
		if r.Err != nil {
			e.t.Fatalf("%s %s: %v", r.Change.Action, r.Change.Name, r.Err)
		}
	}
	return plan
}

func actions(plan []deploy.Change) map[string]deploy.Action {
	out := map[string]deploy.Action{}
	for _, c := range plan {
		out[c.Name] = c.Action
	}
	return out
}

// mutating renders the fake's mutating calls as "Action resource".
func (e *deployEnv) mutating() []string {
	var out []string
	for _, c := range e.srv.MutatingCalls() {
		out = append(out, c.Action+" "+c.Resource)
	}
	return out
}

func (e *deployEnv) three() []providers.FunctionDeployment {
	return []providers.FunctionDeployment{e.fn("orders", "v1"), e.fn("billing", "v1"), e.fn("shipping", "v1")}
}

func TestDeployFirstCreatesEverything(t *testing.T) {
	e := newDeployEnv(t, nil)
	desired := e.three()
	plan := e.mustDeploy(desired, false)
	for _, c := range plan {
		if c.Action != deploy.Create {
			t.Errorf("%s: %s, want create", c.Name, c.Action)
		}
	}
	ctx := e.ctx
	lc := lambda.NewFromConfig(e.srv.Config(ctx))
	ic := iam.NewFromConfig(e.srv.Config(ctx))
	ec := eventbridge.NewFromConfig(e.srv.Config(ctx))
	lg := cloudwatchlogs.NewFromConfig(e.srv.Config(ctx))

	if _, err := ec.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: awssdk.String("shop-bus")}); err != nil {
		t.Fatalf("bus not created: %v", err)
	}
	for _, fd := range desired {
		got, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: awssdk.String(FunctionName("shop", fd.Name))})
		if err != nil {
			t.Fatalf("%s: %v", fd.Name, err)
		}
		if got.Tags[TagProject] != "shop" || got.Tags[TagFunction] != fd.Name {
			t.Errorf("%s tags = %v", fd.Name, got.Tags)
		}
		c := got.Configuration
		if awssdk.ToString(c.CodeSha256) != fd.CodeSha256 || awssdk.ToInt32(c.MemorySize) != 128 || awssdk.ToString(c.Handler) != "bootstrap" {
			t.Errorf("%s configuration = sha %s memory %d handler %s", fd.Name, awssdk.ToString(c.CodeSha256), awssdk.ToInt32(c.MemorySize), awssdk.ToString(c.Handler))
		}
		role := RoleNameIn("shop", fd.Name, "us-east-1")
		if !strings.HasSuffix(awssdk.ToString(c.Role), ":role/"+role) {
			t.Errorf("%s role = %s, want %s", fd.Name, awssdk.ToString(c.Role), role)
		}
		alias, err := lc.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: awssdk.String(FunctionName("shop", fd.Name)), Name: awssdk.String("live")})
		if err != nil || awssdk.ToString(alias.FunctionVersion) != "1" {
			t.Errorf("%s alias live: %v %v", fd.Name, alias, err)
		}
		// The role: trust, basic execution, least privilege.
		att, err := ic.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: awssdk.String(role)})
		if err != nil || len(att.AttachedPolicies) != 1 || !strings.HasSuffix(awssdk.ToString(att.AttachedPolicies[0].PolicyArn), "/AWSLambdaBasicExecutionRole") {
			t.Errorf("%s attached policies: %+v %v", role, att, err)
		}
		pol, err := ic.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: awssdk.String(role), PolicyName: awssdk.String("evcli")})
		if err != nil {
			t.Fatalf("%s inline policy: %v", role, err)
		}
		if doc, _ := url.QueryUnescape(awssdk.ToString(pol.PolicyDocument)); !strings.Contains(doc, "events:PutEvents") || !strings.Contains(doc, "event-bus/shop-bus") || strings.Contains(doc, "dynamodb") {
			t.Errorf("%s inline policy = %s", role, doc)
		}
		// The rule targets the live alias, which EventBridge may invoke.
		rule := RuleName("shop", fd.Name+"-0")
		tg, err := ec.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: awssdk.String(rule), EventBusName: awssdk.String("shop-bus")})
		if err != nil || len(tg.Targets) != 1 || !strings.HasSuffix(awssdk.ToString(tg.Targets[0].Arn), ":function:"+FunctionName("shop", fd.Name)+":live") {
			t.Errorf("%s targets: %+v %v", rule, tg, err)
		}
		p, err := lc.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: awssdk.String(FunctionName("shop", fd.Name)), Qualifier: awssdk.String("live")})
		if err != nil || !strings.Contains(awssdk.ToString(p.Policy), "events.amazonaws.com") || !strings.Contains(awssdk.ToString(p.Policy), "rule/shop-bus/"+rule) {
			t.Errorf("%s policy: %v %v", fd.Name, awssdk.ToString(p.Policy), err)
		}
		groups, err := lg.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: awssdk.String(LogGroupName("shop", fd.Name))})
		if err != nil || len(groups.LogGroups) != 1 || awssdk.ToInt32(groups.LogGroups[0].RetentionInDays) != 14 {
			t.Errorf("%s log group: %+v %v", fd.Name, groups, err)
		}
	}
	// What was deployed reads back equal to what was wanted.
	deployed, err := e.d.Deployed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range deploy.Plan(desired, deployed, deploy.PlanOptions{Prune: true}) {
		if c.Action != deploy.Unchanged {
			t.Errorf("after deploy: %s %s %v", c.Action, c.Name, c.Fields)
		}
	}
}

func TestDeploySecondRunMakesNoMutatingCall(t *testing.T) {
	e := newDeployEnv(t, nil)
	desired := e.three()
	e.mustDeploy(desired, false)
	e.srv.ResetCalls()
	plan := e.mustDeploy(desired, true)
	for _, c := range plan {
		if c.Action != deploy.Unchanged {
			t.Errorf("%s: %s %v, want unchanged", c.Name, c.Action, c.Fields)
		}
	}
	if m := e.mutating(); len(m) > 0 {
		t.Errorf("no-change deploy made mutating calls: %v", m)
	}
	if len(e.srv.Calls()) == 0 {
		t.Error("no calls recorded: the test is not talking to the fake")
	}
}

// deploy --function reads only the named functions: no ListFunctions and no
// GetFunction of the others, and the result equals Deployed's for them.
func TestDeployedFunctionsReadsOnlyTheNamed(t *testing.T) {
	e := newDeployEnv(t, nil)
	desired := e.three()
	e.mustDeploy(desired, false)
	all, err := e.d.Deployed(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := desired[1].Name
	e.srv.ResetCalls()
	got, err := e.d.DeployedFunctions(e.ctx, []string{want, "not-deployed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != want {
		t.Fatalf("got %v, want only %s", got, want)
	}
	for _, fd := range all {
		if fd.Name == want && !reflect.DeepEqual(fd, got[0]) {
			t.Errorf("DeployedFunctions = %+v, Deployed has %+v", got[0], fd)
		}
	}
	if len(got[0].Rules) == 0 {
		t.Error("the function's rules were not read")
	}
	for _, c := range e.srv.Calls() {
		if c.Mutating || c.Action == "ListFunctions" ||
			(c.Service == "lambda" && c.Resource != "" && !strings.Contains(c.Resource, want) && !strings.Contains(c.Resource, "not-deployed")) {
			t.Errorf("unexpected call %s", c)
		}
	}
	if none, err := e.d.DeployedFunctions(e.ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("no names: got %v, %v; want nothing read", none, err)
	}
}

func TestDeployUpdatesOnlyWhatChanged(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *deployEnv, fd *providers.FunctionDeployment)
		want   []string // mutating calls, in order
		fields []string
	}{
		{
			name: "code",
			change: func(e *deployEnv, fd *providers.FunctionDeployment) {
				fd.ArtifactPath, fd.CodeSha256 = e.artifact(fd.Name, "v2")
			},
			want:   []string{"UpdateFunctionCode shop-orders", "PublishVersion shop-orders", "UpdateAlias shop-orders"},
			fields: []string{"code changed"},
		},
		{
			name:   "memory",
			change: func(e *deployEnv, fd *providers.FunctionDeployment) { fd.MemoryMB = 512 },
			want:   []string{"UpdateFunctionConfiguration shop-orders", "PublishVersion shop-orders", "UpdateAlias shop-orders"},
			fields: []string{"memory 128 -> 512"},
		},
		{
			name: "code and memory",
			change: func(e *deployEnv, fd *providers.FunctionDeployment) {
				fd.ArtifactPath, fd.CodeSha256 = e.artifact(fd.Name, "v3")
				fd.MemoryMB = 1024
			},
			want:   []string{"UpdateFunctionCode shop-orders", "UpdateFunctionConfiguration shop-orders", "PublishVersion shop-orders", "UpdateAlias shop-orders"},
			fields: []string{"code changed", "memory 128 -> 1024"},
		},
		{
			name:   "secret value",
			change: func(e *deployEnv, fd *providers.FunctionDeployment) { fd.Env["API_TOKEN"] = "rotated" },
			want:   []string{"UpdateFunctionConfiguration shop-orders", "PublishVersion shop-orders", "UpdateAlias shop-orders"},
			fields: []string{"environment ~API_TOKEN"},
		},
		{
			name: "rule pattern",
			change: func(e *deployEnv, fd *providers.FunctionDeployment) {
				fd.Rules[0].Pattern = json.RawMessage(`{"source":["shop"],"detail-type":["order.paid"]}`)
			},
			want:   []string{"PutRule shop-bus/shop-orders-0"},
			fields: []string{"rules 1 -> 1"},
		},
		{
			name: "rule replaced",
			change: func(e *deployEnv, fd *providers.FunctionDeployment) {
				fd.Rules[0].ID = "orders-1"
			},
			want: []string{"PutRule shop-bus/shop-orders-1", "PutTargets shop-bus/shop-orders-1", "AddPermission shop-orders",
				"RemoveTargets shop-bus/shop-orders-0", "DeleteRule shop-bus/shop-orders-0", "RemovePermission shop-orders"},
			fields: []string{"rules 1 -> 1"},
		},
		{
			name:   "architecture",
			change: func(e *deployEnv, fd *providers.FunctionDeployment) { fd.Architecture = "arm64" },
			want:   []string{"UpdateFunctionCode shop-orders", "PublishVersion shop-orders", "UpdateAlias shop-orders"},
			fields: []string{"architecture x86_64 -> arm64"},
		},
		{
			name:   "correlation",
			change: func(e *deployEnv, fd *providers.FunctionDeployment) { fd.Correlation = "$.detail.customer" },
			want:   []string{"TagResource shop-orders"},
			fields: []string{"correlation $.detail.orderId -> $.detail.customer"},
		},
		{
			name:   "reserved concurrency",
			change: func(e *deployEnv, fd *providers.FunctionDeployment) { fd.Concurrency = 5 },
			want:   []string{"PutFunctionConcurrency shop-orders"},
			fields: []string{"concurrency 0 -> 5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeployEnv(t, nil)
			desired := e.three()
			e.mustDeploy(desired, false)
			e.srv.ResetCalls()
			tt.change(e, &desired[0])
			plan := e.mustDeploy(desired, false)
			want := map[string]deploy.Action{"orders": deploy.Update, "billing": deploy.Unchanged, "shipping": deploy.Unchanged}
			if got := actions(plan); !mapsEqual(got, want) {
				t.Errorf("plan = %v, want %v", got, want)
			}
			var fields []string
			for _, f := range plan[0].Fields {
				fields = append(fields, f.String())
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("fields = %q, want %q", fields, tt.fields)
			}
			if got := e.mutating(); !slices.Equal(got, tt.want) {
				t.Errorf("mutating calls:\n got %q\nwant %q", got, tt.want)
			}
			for _, c := range e.srv.Calls() {
				if c.Code != "" && c.Code != "ResourceNotFoundException" {
					t.Errorf("call answered with an error: %s", c)
				}
			}
			// It converged: a further deploy plans nothing.
			e.srv.ResetCalls()
			for _, c := range e.mustDeploy(desired, false) {
				if c.Action != deploy.Unchanged {
					t.Errorf("not converged: %s %s %v", c.Action, c.Name, c.Fields)
				}
			}
		})
	}
}

// The configuration update waits until the code update has finished: the
// fake answers 409 to a configuration change while an update is in
// progress, and reports it settled only after reads.
func TestDeployConfigurationWaitsForCodeUpdate(t *testing.T) {
	e := newDeployEnv(t, nil, awstest.WithSettleReads(3))
	desired := e.three()
	e.mustDeploy(desired, false)
	e.srv.ResetCalls()
	desired[0].ArtifactPath, desired[0].CodeSha256 = e.artifact("orders", "v2")
	desired[0].MemoryMB = 256
	desired[0].TimeoutS = 10
	e.mustDeploy(desired, false)
	var seq []string
	for _, c := range e.srv.Calls() {
		if c.Resource != "shop-orders" || c.Service != "lambda" {
			continue
		}
		if c.Code != "" && c.Code != "ResourceNotFoundException" {
			t.Errorf("%s", c)
		}
		if len(seq) == 0 && c.Action != "UpdateFunctionCode" {
			continue // the read before the apply
		}
		switch c.Action {
		case "UpdateFunctionCode", "UpdateFunctionConfiguration", "GetFunctionConfiguration", "PublishVersion":
			if n := len(seq); n > 0 && seq[n-1] == c.Action && c.Action == "GetFunctionConfiguration" {
				continue // polls collapsed
			}
			seq = append(seq, c.Action)
		}
	}
	want := []string{"UpdateFunctionCode", "GetFunctionConfiguration", "UpdateFunctionConfiguration", "GetFunctionConfiguration", "PublishVersion"}
	if !slices.Equal(seq[:min(len(seq), len(want))], want) {
		t.Errorf("order = %v, want it to start %v", seq, want)
	}
	if len(e.sleep.Waits()) == 0 {
		t.Error("no poll waited through Sleep")
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestDeployRetriesThrottlingAndConflicts(t *testing.T) {
	tests := []struct {
		name  string
		fault awstest.Fault
	}{
		{"lambda throttled", awstest.Fault{Service: "lambda", Action: "UpdateFunctionCode", Code: "TooManyRequestsException", Times: 3}},
		{"lambda conflict", awstest.Fault{Service: "lambda", Action: "UpdateFunctionCode", Code: "ResourceConflictException", Times: 2}},
		{"read throttled", awstest.Fault{Service: "lambda", Action: "GetFunction", Match: "orders", Code: "TooManyRequestsException", Times: 2}},
		{"iam throttled", awstest.Fault{Service: "iam", Action: "GetRole", Code: "Throttling", Times: 2}},
		{"events throttled", awstest.Fault{Service: "events", Action: "ListRules", Code: "ThrottlingException", Times: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newDeployEnv(t, nil)
			desired := e.three()
			e.mustDeploy(desired, false)
			e.srv.ResetCalls()
			desired[0].ArtifactPath, desired[0].CodeSha256 = e.artifact("orders", "v2")
			before := len(e.sleep.Waits())
			e.srv.Inject(tt.fault)
			e.mustDeploy(desired, false)
			faulted, ok := 0, false
			for _, c := range e.srv.Calls() {
				if c.Action == tt.fault.Action && c.Code == tt.fault.Code {
					faulted++
				}
				if c.Action == tt.fault.Action && c.Code == "" {
					ok = true
				}
			}
			if faulted != tt.fault.Times || !ok {
				t.Errorf("%s: %d faulted calls then success=%v, want %d then success", tt.fault.Action, faulted, ok, tt.fault.Times)
			}
			if waits := e.sleep.Waits()[before:]; len(waits) < tt.fault.Times {
				t.Errorf("retries slept %d times, want >= %d", len(waits), tt.fault.Times)
			}
		})
	}
}

func TestDeployGivesUpAfterMaxAttempts(t *testing.T) {
	e := newDeployEnv(t, func(o *DeployerOptions) { o.MaxAttempts = 3 })
	e.srv.Inject(awstest.Fault{Service: "lambda", Action: "ListFunctions", Code: "TooManyRequestsException", Times: -1})
	_, err := e.d.Deployed(e.ctx)
	if providers.CodeOf(err) != providers.Throttled || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("err = %v (code %v), want Throttled after 3 attempts", err, providers.CodeOf(err))
	}
	waits := e.sleep.Waits()
	if len(waits) != 2 {
		t.Fatalf("waits = %v, want 2", waits)
	}
	// Exponential with jitter: each wait in [base/2, base].
	for i, w := range waits {
		base := 200 * time.Millisecond << i
		if w < base/2 || w > base {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, w, base/2, base)
		}
	}
}

// A permanent failure of one function stops nothing else; the next deploy
// converges.
func TestDeployFailureOfOneFunctionLeavesOthersDeployed(t *testing.T) {
	e := newDeployEnv(t, nil)
	desired := e.three()
	e.srv.Inject(awstest.Fault{Service: "lambda", Action: "CreateFunction", Match: "billing", Code: "InvalidParameterValueException",
		Message: "Value API_TOKEN=s3cr3t-billing is not valid", Times: -1})
	_, results := e.deploy(desired, false)
	for _, r := range results {
		switch r.Change.Name {
		case "billing":
			var pe *providers.Error
			if !errors.As(r.Err, &pe) || pe.Code != providers.InvalidArgument || pe.Resource != "function shop-billing" {
				t.Fatalf("billing: err = %#v, want InvalidArgument on function shop-billing", r.Err)
			}
			if strings.Contains(r.Err.Error(), "s3cr3t") {
				t.Errorf("error shows a secret value: %v", r.Err)
			}
		default:
			if r.Err != nil {
				t.Errorf("%s: %v", r.Change.Name, r.Err)
			}
		}
	}
	deployed, err := e.d.Deployed(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fd := range deployed {
		names = append(names, fd.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"orders", "shipping"}) {
		t.Errorf("deployed = %v, want orders and shipping", names)
	}
	e.srv.ClearFaults()
	plan := e.mustDeploy(desired, false)
	if got := actions(plan); got["billing"] != deploy.Create || got["orders"] != deploy.Unchanged {
		t.Errorf("second plan = %v, want billing create, others unchanged", got)
	}
}

func TestDeployPruneDeletesOnlyThisProjectsFunctions(t *testing.T) {
	e := newDeployEnv(t, nil)
	desired := e.three()
	e.mustDeploy(desired, false)
	// Another project's function and an untagged one, in the same account.
	other := newDeployEnvOn(t, e.srv, "other")
	o := other.fn("legacy", "v1")
	o.Rules = nil
	other.mustDeploy([]providers.FunctionDeployment{o}, false)
	e.srv.SeedFunction(awstest.FunctionSpec{Name: "manual", Publish: true, Alias: "live"})
	e.srv.SeedFunction(awstest.FunctionSpec{Name: "shop-manual", Publish: true, Alias: "live"})
	lc := lambda.NewFromConfig(e.srv.Config(e.ctx))
	e.srv.ResetCalls()
	plan := e.mustDeploy(desired[1:], true)
	if got := actions(plan); !mapsEqual(got, map[string]deploy.Action{"orders": deploy.Delete, "billing": deploy.Unchanged, "shipping": deploy.Unchanged}) {
		t.Errorf("plan = %v", got)
	}
	for _, m := range e.mutating() {
		if !strings.Contains(m, "orders") {
			t.Errorf("prune touched something else: %s", m)
		}
	}
	for _, name := range []string{"other-legacy", "manual", "shop-manual", "shop-billing"} {
		if _, err := lc.GetFunction(e.ctx, &lambda.GetFunctionInput{FunctionName: awssdk.String(name)}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := lc.GetFunction(e.ctx, &lambda.GetFunctionInput{FunctionName: awssdk.String("shop-orders")}); err == nil {
		t.Error("orders still exists")
	}
	ic := iam.NewFromConfig(e.srv.Config(e.ctx))
	if _, err := ic.GetRole(e.ctx, &iam.GetRoleInput{RoleName: awssdk.String(RoleNameIn("shop", "orders", "us-east-1"))}); err == nil {
		t.Error("orders' role still exists")
	}
	ec := eventbridge.NewFromConfig(e.srv.Config(e.ctx))
	if _, err := ec.DescribeRule(e.ctx, &eventbridge.DescribeRuleInput{Name: awssdk.String("shop-orders-0"), EventBusName: awssdk.String("shop-bus")}); err == nil {
		t.Error("orders' rule still exists")
	}
	// DeleteFunction re-checks the tag: shop-manual is not shop's, and
	// the bare name "manual" (the earlier naming) is left alone silently.
	if err := e.d.DeleteFunction(e.ctx, "manual"); providers.CodeOf(err) != providers.PermissionDenied {
		t.Errorf("DeleteFunction(manual) = %v, want PermissionDenied", err)
	}
	if _, err := lc.GetFunction(e.ctx, &lambda.GetFunctionInput{FunctionName: awssdk.String("manual")}); err != nil {
		t.Errorf("manual: %v", err)
	}
}

func newDeployEnvOn(t *testing.T, srv *awstest.Server, project string) *deployEnv {
	sl := &sleepRecorder{}
	ctx := context.Background()
	return &deployEnv{t: t, srv: srv, sleep: sl, dir: t.TempDir(), ctx: ctx,
		d: NewDeployer(srv.Config(ctx), DeployerOptions{Project: project, Bus: "shop-bus", Sleep: sl.Sleep})}
}

func TestRollbackMovesLiveAlias(t *testing.T) {
	e := newDeployEnv(t, nil)
	desired := e.three()
	e.mustDeploy(desired, false)
	for _, v := range []string{"v2", "v3"} {
		desired[0].ArtifactPath, desired[0].CodeSha256 = e.artifact("orders", v)
		e.mustDeploy(desired, false)
	}
	lc := lambda.NewFromConfig(e.srv.Config(e.ctx))
	live := func() string {
		a, err := lc.GetAlias(e.ctx, &lambda.GetAliasInput{FunctionName: awssdk.String("shop-orders"), Name: awssdk.String("live")})
		if err != nil {
			t.Fatal(err)
		}
		return awssdk.ToString(a.FunctionVersion)
	}
	tests := []struct {
		to, wantFrom, wantTo string
		code                 providers.Code
	}{
		{"", "3", "2", 0},
		{"", "2", "1", 0},
		{"", "1", "", providers.NotFound},
		{"3", "1", "3", 0},
		{"9", "3", "", providers.NotFound},
	}
	for _, tt := range tests {
		from, to, err := e.d.Rollback(e.ctx, "orders", tt.to)
		if providers.CodeOf(err) != tt.code || (tt.code == 0 && err != nil) {
			t.Fatalf("Rollback(%q) err = %v, want code %v", tt.to, err, tt.code)
		}
		if from != tt.wantFrom || to != tt.wantTo {
			t.Errorf("Rollback(%q) = %s -> %s, want %s -> %s", tt.to, from, to, tt.wantFrom, tt.wantTo)
		}
		want := tt.wantTo
		if want == "" {
			want = tt.wantFrom
		}
		if got := live(); got != want {
			t.Errorf("after Rollback(%q) live = %s, want %s", tt.to, got, want)
		}
	}
	if _, _, err := e.d.Rollback(e.ctx, "nosuch", ""); providers.CodeOf(err) != providers.NotFound {
		t.Errorf("unknown function: %v", err)
	}
}

func TestInvokeLiveDecodesLogTail(t *testing.T) {
	e := newDeployEnv(t, nil, awstest.WithInvoke(func(fn string, payload []byte) ([]byte, error) {
		if strings.Contains(string(payload), "boom") {
			return nil, &awstest.FunctionError{Type: "TypeError", Message: "boom"}
		}
		return []byte(`{"ok":true}`), nil
	}))
	desired := e.three()
	e.mustDeploy(desired, false)
	r, err := e.d.Invoke(e.ctx, "orders", []byte(`{"id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Payload) != `{"ok":true}` || r.FunctionError != "" {
		t.Errorf("result = %s %q", r.Payload, r.FunctionError)
	}
	if len(r.LogTail) != 3 || !strings.HasPrefix(r.LogTail[0], "START RequestId: ") || !strings.HasPrefix(r.LogTail[2], "REPORT RequestId: ") {
		t.Errorf("log tail = %q", r.LogTail)
	}
	if !strings.Contains(r.LogTail[0], "Version: 1") {
		t.Errorf("not invoked on live (version 1): %q", r.LogTail[0])
	}
	if r.DurationMs != 1.5 || r.RequestID == "" {
		t.Errorf("duration %v request id %q", r.DurationMs, r.RequestID)
	}
	r, err = e.d.Invoke(e.ctx, "orders", []byte(`{"boom":1}`))
	if err != nil || r.FunctionError != "Unhandled" || !strings.Contains(string(r.Payload), "TypeError") {
		t.Errorf("function error: %+v %v", r, err)
	}
}
