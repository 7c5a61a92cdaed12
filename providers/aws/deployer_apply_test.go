package aws

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/aws/awsfake"
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
	st, _ := e.srv.Function("orders")
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
	e.srv.Inject(awsfake.Fault{Service: "lambda", Action: "CreateFunction", Code: "InvalidParameterValueException",
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
	e2.srv.Inject(awsfake.Fault{Service: "lambda", Action: "CreateFunction", Code: "InvalidParameterValueException",
		Message: "The role defined for the function cannot be assumed by Lambda.", Times: -1})
	fd := e2.fn("orders", "v1")
	fd.Role = "arn:aws:iam::123456789012:role/given"
	_, err := e2.apply(fd, true)
	if providers.CodeOf(err) != providers.InvalidArgument {
		t.Errorf("given role: err = %v", err)
	}
	if st, ok := e2.srv.Role(RoleName("shop", "orders")); ok {
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
	e.srv.FailUpdate("orders", "bootstrap is not executable")
	steps, err := e.apply(fd, true)
	if err == nil || !strings.Contains(err.Error(), "bootstrap is not executable") || !strings.Contains(err.Error(), "function orders") {
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
	if _, ok := e.srv.Function("orders"); ok {
		t.Error("function created although its code could not be uploaded")
	}
	e.d.o.ArtifactBucket = "shop-artifacts"
	if _, err := e.d.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: awssdk.String("shop-artifacts")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.apply(fd, true); err != nil {
		t.Fatal(err)
	}
	st, _ := e.srv.Function("orders")
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
