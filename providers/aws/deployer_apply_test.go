package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/aws/awstest"
)

func (e *deployEnv) applyShared() {
	e.t.Helper()
	changes, err := e.d.PlanShared(e.ctx, false)
	if err == nil {
		err = e.d.ApplyShared(e.ctx, changes, nil)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *deployEnv) apply(fd providers.FunctionDeployment, codeChanged bool) ([]string, error) {
	var steps []string
	err := e.d.ApplyFunction(e.ctx, fd, codeChanged, func(s string) { steps = append(steps, s) })
	return steps, err
}

func TestApplyFunctionSteps(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.applyShared()
	fd := e.fn("orders", "v1")
	steps, err := e.apply(fd, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"role", "log group", "create function", "wait for active", "publish version", "alias live -> 1", "rules"}
	if !slices.Equal(steps, want) {
		t.Errorf("create steps = %q, want %q", steps, want)
	}
	fd.ArtifactPath, fd.CodeSha256 = e.artifact("orders", "v2")
	fd.TimeoutS, fd.Concurrency, fd.Correlation = 30, 3, "detail.id"
	steps, err = e.apply(fd, true)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"role", "log group", "upload code", "wait for update", "update configuration", "wait for update", "tags",
		"concurrency", "publish version", "alias live -> 2", "rules"}
	if !slices.Equal(steps, want) {
		t.Errorf("update steps = %q, want %q", steps, want)
	}
	st, _ := e.srv.Function("shop-orders")
	if st.CodeSha256 != fd.CodeSha256 || st.Timeout != 30 || st.ReservedConcurrency == nil || *st.ReservedConcurrency != 3 ||
		st.Tags[tagCorrelation] != "detail.id" || st.Aliases["live"].Version != "2" || len(st.Versions) != 2 {
		t.Errorf("function state = %+v", st)
	}
}

// A new role may not be usable by Lambda at once: CreateFunction is retried
// with a longer backoff while Lambda says it cannot assume it.
func TestDeployWaitsForRolePropagation(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.applyShared()
	e.srv.Inject(awstest.Fault{Service: "lambda", Action: "CreateFunction", Code: "InvalidParameterValueException",
		Message: "The role defined for the function cannot be assumed by Lambda.", Times: 3})
	if _, err := e.apply(e.fn("orders", "v1"), true); err != nil {
		t.Fatal(err)
	}
	waits := e.sleep.Waits()
	long := 0
	for _, w := range waits {
		if w >= 500*time.Millisecond {
			long++
		}
	}
	if long < 3 {
		t.Errorf("waits = %v, want 3 of at least 500ms", waits)
	}
	// A given role is not new: the same error is not retried.
	e2 := newDeployEnv(t, nil)
	e2.applyShared()
	e2.srv.Inject(awstest.Fault{Service: "lambda", Action: "CreateFunction", Code: "InvalidParameterValueException",
		Message: "The role defined for the function cannot be assumed by Lambda.", Times: -1})
	fd := e2.fn("orders", "v1")
	fd.Role = "arn:aws:iam::123456789012:role/given"
	_, err := e2.apply(fd, true)
	if providers.CodeOf(err) != providers.InvalidArgument {
		t.Errorf("given role: err = %v", err)
	}
	if st, ok := e2.srv.Role(RoleNameIn("shop", "orders", "us-east-1")); ok {
		t.Errorf("a role was created although one was given: %+v", st)
	}
}

func TestDeployFailedUpdateIsReported(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.applyShared()
	fd := e.fn("orders", "v1")
	if _, err := e.apply(fd, true); err != nil {
		t.Fatal(err)
	}
	fd.ArtifactPath, fd.CodeSha256 = e.artifact("orders", "v2")
	e.srv.FailUpdate("shop-orders", "bootstrap is not executable")
	steps, err := e.apply(fd, true)
	if err == nil || !strings.Contains(err.Error(), "bootstrap is not executable") || !strings.Contains(err.Error(), "function shop-orders") {
		t.Fatalf("err = %v", err)
	}
	if slices.Contains(steps, "update configuration") || slices.Contains(steps, "publish version") {
		t.Errorf("went on after a failed update: %q", steps)
	}
}

func TestDeployLargeArtifactGoesThroughS3(t *testing.T) {
	e := newDeployEnv(t, func(o *DeployerOptions) { o.DirectUploadLimit = 64 })
	e.applyShared()
	fd := e.fn("orders", strings.Repeat("large artifact ", 40))
	_, err := e.apply(fd, true)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Code != providers.InvalidArgument || !strings.Contains(pe.Hint, "--artifact-bucket") {
		t.Fatalf("without a bucket: err = %#v", err)
	}
	if _, ok := e.srv.Function("shop-orders"); ok {
		t.Error("function created although its code could not be uploaded")
	}
	e.d.o.ArtifactBucket = "shop-artifacts"
	if _, err := e.d.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: awssdk.String("shop-artifacts")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.apply(fd, true); err != nil {
		t.Fatal(err)
	}
	st, _ := e.srv.Function("shop-orders")
	if st.CodeSha256 != fd.CodeSha256 {
		t.Errorf("CodeSha256 = %s, want %s", st.CodeSha256, fd.CodeSha256)
	}
	put := false
	for _, c := range e.srv.Calls() {
		put = put || (c.Service == "s3" && c.Action == "PutObject" && strings.HasPrefix(c.Resource, "shop-artifacts/evcli/shop/orders/"))
	}
	if !put {
		t.Errorf("no PutObject into the artifact bucket: %v", e.srv.Calls())
	}
}

// A deploy that failed after updating $LATEST but before moving live is
// seen as not deployed (Deployed reads the live alias) and converges on
// the next run without uploading again.
func TestDeployConvergesAfterFailedPublish(t *testing.T) {
	e := newDeployEnv(t, nil)
	desired := e.three()
	e.mustDeploy(desired, false)
	desired[0].ArtifactPath, desired[0].CodeSha256 = e.artifact("orders", "v2")
	e.srv.Inject(awstest.Fault{Service: "lambda", Action: "PublishVersion", Match: "orders", Code: "ServiceException", Times: -1})
	_, results := e.deploy(desired, false)
	if results[0].Err == nil || providers.CodeOf(results[0].Err) != providers.Unavailable {
		t.Fatalf("orders: err = %v, want Unavailable", results[0].Err)
	}
	e.srv.ClearFaults()
	e.srv.ResetCalls()
	plan := e.mustDeploy(desired, false)
	if got := actions(plan); got["orders"] != "update" || got["billing"] != "unchanged" {
		t.Errorf("plan = %v, want orders updated", got)
	}
	if got, want := e.mutating(), []string{"PublishVersion shop-orders", "UpdateAlias shop-orders"}; !slices.Equal(got, want) {
		t.Errorf("mutating = %q, want %q", got, want)
	}
	st, _ := e.srv.Function("shop-orders")
	if st.Aliases["live"].Version != "2" {
		t.Errorf("live = %s, want 2", st.Aliases["live"].Version)
	}
}

// The role's inline policy: PutEvents on the project's bus only, and item
// read/write on the event-store table (and its indexes) when there is one.
func TestDeployRoleLeastPrivilege(t *testing.T) {
	e := newDeployEnv(t, func(o *DeployerOptions) {
		o.Bus = "default"
		o.Table = &TableSpec{Name: "shop-events", PartitionKey: "aggregateId", SortKey: "timestamp"}
	})
	fd := e.fn("orders", "v1")
	fd.Rules[0].Bus = ""
	if _, err := e.apply(fd, true); err != nil {
		t.Fatal(err)
	}
	role, ok := e.srv.Role(RoleNameIn("shop", "orders", "us-east-1"))
	if !ok {
		t.Fatal("no role")
	}
	var doc policyDoc
	if err := json.Unmarshal([]byte(role.Inline["evcli"]), &doc); err != nil {
		t.Fatalf("inline policy %q: %v", role.Inline["evcli"], err)
	}
	want := policyDoc{Version: "2012-10-17", Statement: []policyStatement{
		{Sid: "PutEventsOnProjectBus", Effect: "Allow", Action: []string{"events:PutEvents"},
			Resource: []string{"arn:aws:events:us-east-1:123456789012:event-bus/default"}},
		{Sid: "EventStoreReadWrite", Effect: "Allow", Action: []string{"dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
			"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"},
			Resource: []string{"arn:aws:dynamodb:us-east-1:123456789012:table/shop-events", "arn:aws:dynamodb:us-east-1:123456789012:table/shop-events/index/*"}},
	}}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("inline policy = %+v\nwant %+v", doc, want)
	}
	if !strings.Contains(role.AssumeRolePolicy, "lambda.amazonaws.com") || len(role.Attached) != 1 ||
		role.Attached[0] != "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" || role.Tags[TagProject] != "shop" {
		t.Errorf("role = %+v", role)
	}
	// Unchanged policy: a second apply writes nothing to IAM.
	e.srv.ResetCalls()
	if _, err := e.apply(fd, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range e.srv.MutatingCalls() {
		t.Errorf("mutating call on re-apply: %s", c)
	}
}

// Deployed pages through ListFunctions and keeps only this project's
// functions.
func TestDeployedPagesAndFiltersByProjectTag(t *testing.T) {
	e := newDeployEnv(t, nil)
	desired := e.three()
	e.mustDeploy(desired, false)
	for i := range 60 {
		tags := map[string]string{TagProject: "other"}
		if i%2 == 0 {
			tags = nil
		}
		e.srv.SeedFunction(awstest.FunctionSpec{Name: fmt.Sprintf("aaa-%02d", i), Tags: tags, Publish: true, Alias: "live"})
	}
	e.srv.ResetCalls()
	deployed, err := e.d.Deployed(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fd := range deployed {
		names = append(names, fd.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"billing", "orders", "shipping"}) {
		t.Errorf("deployed = %v", names)
	}
	lists := 0
	for _, c := range e.srv.Calls() {
		if c.Action == "ListFunctions" {
			lists++
		}
	}
	if lists != 2 {
		t.Errorf("ListFunctions calls = %d, want 2 pages", lists)
	}
}
