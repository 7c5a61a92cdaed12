package awstest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/evcli/evcli/providers/aws/awstest"
)

func newLambda(t *testing.T, opts ...awstest.Option) (*awstest.Server, *lambda.Client) {
	t.Helper()
	f := awstest.New(opts...)
	t.Cleanup(f.Close)
	return f, lambda.NewFromConfig(f.Config(context.Background()))
}

func createInput(name string, code []byte) *lambda.CreateFunctionInput {
	return &lambda.CreateFunctionInput{
		FunctionName:  aws.String(name),
		Role:          aws.String("arn:aws:iam::123456789012:role/" + name + "-role"),
		Runtime:       lambdatypes.RuntimeNodejs22x,
		Handler:       aws.String("index.handler"),
		MemorySize:    aws.Int32(256),
		Code:          &lambdatypes.FunctionCode{ZipFile: code},
		Architectures: []lambdatypes.Architecture{lambdatypes.ArchitectureArm64},
		Environment:   &lambdatypes.Environment{Variables: map[string]string{"BUS": "orders"}},
		Tags:          map[string]string{"evcli:project": "shop", "evcli:function": name},
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestLambdaLifecycle(t *testing.T) {
	ctx := context.Background()
	f, c := newLambda(t)
	code := []byte("PK\x03\x04 first build")

	out, err := c.CreateFunction(ctx, createInput("orders", code))
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.CodeSha256); got != sha(code) || out.CodeSize != int64(len(code)) {
		t.Errorf("CodeSha256/CodeSize = %s/%d, want %s/%d", got, out.CodeSize, sha(code), len(code))
	}
	if out.State != lambdatypes.StatePending {
		t.Errorf("State after create = %s, want Pending", out.State)
	}
	rev0 := aws.ToString(out.RevisionId)

	// While Pending, updates conflict.
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("orders"), MemorySize: aws.Int32(512)})
	var conflict *lambdatypes.ResourceConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("update while Pending: err = %v, want ResourceConflictException", err)
	}

	// Two reads settle it (the 2nd read is the first to see Active).
	states := []lambdatypes.State{}
	for range 3 {
		g, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("orders")})
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, g.State)
	}
	if fmt.Sprint(states) != "[Pending Active Active]" {
		t.Errorf("states over reads = %v", states)
	}

	// Code update -> InProgress -> the classic conflict -> Successful.
	code2 := []byte("PK\x03\x04 second build")
	u, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("orders"), ZipFile: code2})
	if err != nil {
		t.Fatal(err)
	}
	if u.LastUpdateStatus != lambdatypes.LastUpdateStatusInProgress || aws.ToString(u.CodeSha256) != sha(code2) {
		t.Errorf("after UpdateFunctionCode: %s %s", u.LastUpdateStatus, aws.ToString(u.CodeSha256))
	}
	if aws.ToString(u.RevisionId) == rev0 {
		t.Error("RevisionId did not change")
	}
	_, err = c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("orders"), MemorySize: aws.Int32(512)})
	if !errors.As(err, &conflict) || !strings.Contains(conflict.ErrorMessage(), "An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:orders") {
		t.Fatalf("update while InProgress: %v", err)
	}
	_, err = c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("orders")})
	if !errors.As(err, &conflict) {
		t.Fatalf("publish while InProgress: %v", err)
	}
	// The SDK's own waiter sees it through.
	w := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) { o.MinDelay, o.MaxDelay = 1e6, 2e6 })
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders")}, 1e10); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("orders"), MemorySize: aws.Int32(1024), Timeout: aws.Int32(30),
		Environment: &lambdatypes.Environment{Variables: map[string]string{"BUS": "orders", "X": "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(cfg.MemorySize) != 1024 || aws.ToInt32(cfg.Timeout) != 30 || cfg.Environment.Variables["X"] != "1" || aws.ToString(cfg.Handler) != "index.handler" {
		t.Errorf("config after update: %+v", cfg)
	}
	for range 2 {
		c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders")})
	}

	// Publish, publish again with nothing changed -> same version.
	v1, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	v1b, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v1.Version) != "1" || aws.ToString(v1b.Version) != "1" {
		t.Errorf("versions = %s, %s; want 1, 1", aws.ToString(v1.Version), aws.ToString(v1b.Version))
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("orders"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("orders"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	if !errors.As(err, &conflict) {
		t.Errorf("duplicate alias: %v", err)
	}
	_, err = c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("orders"), Name: aws.String("live"), FunctionVersion: aws.String("7")})
	var nf *lambdatypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("alias to missing version: %v", err)
	}
	a, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("orders"), Name: aws.String("live")})
	if err != nil || aws.ToString(a.FunctionVersion) != "1" {
		t.Fatalf("GetAlias = %v, %v", a, err)
	}
	// GetFunction through the alias returns the version.
	g, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders"), Qualifier: aws.String("live")})
	if err != nil || aws.ToString(g.Configuration.Version) != "1" || g.Tags["evcli:project"] != "shop" {
		t.Fatalf("GetFunction live = %+v, %v", g, err)
	}

	st, _ := f.Function("orders")
	if st.CodeSha256 != sha(code2) || st.MemorySize != 1024 || len(st.Versions) != 1 || st.Aliases["live"].Version != "1" {
		t.Errorf("state = %+v", st)
	}

	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders")})
	if !errors.As(err, &nf) {
		t.Errorf("after delete: %v", err)
	}
}

func TestLambdaPublishTracksChanges(t *testing.T) {
	ctx := context.Background()
	f, c := newLambda(t, awstest.WithSettleReads(0))
	if _, err := c.CreateFunction(ctx, createInput("fn", []byte("v1"))); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"first", func() error { return nil }, "1"},
		{"unchanged", func() error { return nil }, "1"},
		{"code", func() error {
			_, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("fn"), ZipFile: []byte("v2")})
			return err
		}, "2"},
		{"config", func() error {
			_, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fn"), MemorySize: aws.Int32(2048)})
			return err
		}, "3"},
		{"unchanged again", func() error { return nil }, "3"},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		v, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fn")})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if aws.ToString(v.Version) != s.want {
			t.Errorf("%s: version %s, want %s", s.name, aws.ToString(v.Version), s.want)
		}
	}
	st, _ := f.Function("fn")
	if got := st.Versions[2].MemorySize; got != 2048 {
		t.Errorf("version 3 memory = %d", got)
	}
	_, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fn"), CodeSha256: aws.String("nope")})
	var pre *lambdatypes.PreconditionFailedException
	if !errors.As(err, &pre) {
		t.Errorf("publish with a stale CodeSha256: %v", err)
	}
}

func TestLambdaErrors(t *testing.T) {
	ctx := context.Background()
	_, c := newLambda(t, awstest.WithDirectUploadLimit(10))
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"get missing", func() error {
			_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException"},
		{"too big", func() error {
			_, err := c.CreateFunction(ctx, createInput("big", []byte("more than ten bytes")))
			return err
		}, "RequestTooLargeException"},
		{"bad memory", func() error {
			in := createInput("mem", []byte("x"))
			in.MemorySize = aws.Int32(64)
			_, err := c.CreateFunction(ctx, in)
			return err
		}, "InvalidParameterValueException"},
		{"missing S3 object", func() error {
			in := createInput("s3", nil)
			in.Code = &lambdatypes.FunctionCode{S3Bucket: aws.String("b"), S3Key: aws.String("k")}
			_, err := c.CreateFunction(ctx, in)
			return err
		}, "InvalidParameterValueException"},
		{"duplicate", func() error {
			c.CreateFunction(ctx, createInput("dup", []byte("x")))
			_, err := c.CreateFunction(ctx, createInput("dup", []byte("x")))
			return err
		}, "ResourceConflictException"},
		{"no policy", func() error {
			_, err := c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("dup")})
			return err
		}, "ResourceNotFoundException"},
		{"missing alias", func() error {
			_, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("dup"), Name: aws.String("live")})
			return err
		}, "ResourceNotFoundException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := errCode(err); got != tc.want {
				t.Errorf("error code = %q (%v), want %s", got, err, tc.want)
			}
		})
	}
}

func TestLambdaS3Code(t *testing.T) {
	ctx := context.Background()
	f, c := newLambda(t)
	zip := []byte("PK big artifact")
	f.SeedObject("artifacts", "orders.zip", zip)
	in := createInput("orders", nil)
	in.Code = &lambdatypes.FunctionCode{S3Bucket: aws.String("artifacts"), S3Key: aws.String("orders.zip")}
	out, err := c.CreateFunction(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.CodeSha256) != sha(zip) {
		t.Errorf("CodeSha256 = %s", aws.ToString(out.CodeSha256))
	}
}

func TestLambdaPagination(t *testing.T) {
	ctx := context.Background()
	f, c := newLambda(t)
	for i := range 23 {
		f.SeedFunction(awstest.FunctionSpec{Name: fmt.Sprintf("fn-%02d", i), Tags: map[string]string{"evcli:project": "shop"}})
	}
	var names []string
	p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{MaxItems: aws.Int32(10)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, fn := range out.Functions {
			names = append(names, aws.ToString(fn.FunctionName))
			if fn.State != "" || fn.LastUpdateStatus != "" {
				t.Errorf("ListFunctions returned state fields for %s", aws.ToString(fn.FunctionName))
			}
		}
	}
	if pages != 3 || len(names) != 23 || names[0] != "fn-00" || names[22] != "fn-22" {
		t.Errorf("pages=%d names=%v", pages, names)
	}

	// Versions and aliases page too.
	f.SetSettleReads(0)
	for i := range 4 {
		if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("fn-00"), ZipFile: []byte{byte(i)}, Publish: true}); err != nil {
			t.Fatal(err)
		}
	}
	var versions []string
	vp := lambda.NewListVersionsByFunctionPaginator(c, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("fn-00"), MaxItems: aws.Int32(2)})
	for vp.HasMorePages() {
		out, err := vp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Versions {
			versions = append(versions, aws.ToString(v.Version))
		}
	}
	if fmt.Sprint(versions) != "[$LATEST 1 2 3 4]" {
		t.Errorf("versions = %v", versions)
	}
	for _, a := range []string{"live", "canary", "beta"} {
		if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fn-00"), Name: aws.String(a), FunctionVersion: aws.String("2")}); err != nil {
			t.Fatal(err)
		}
	}
	var aliases []string
	ap := lambda.NewListAliasesPaginator(c, &lambda.ListAliasesInput{FunctionName: aws.String("fn-00"), MaxItems: aws.Int32(2)})
	for ap.HasMorePages() {
		out, err := ap.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.Aliases {
			aliases = append(aliases, aws.ToString(a.Name))
		}
	}
	if fmt.Sprint(aliases) != "[beta canary live]" {
		t.Errorf("aliases = %v", aliases)
	}
}

func TestLambdaPermissionsTagsConcurrency(t *testing.T) {
	ctx := context.Background()
	f, c := newLambda(t)
	f.SeedFunction(awstest.FunctionSpec{Name: "orders", Publish: true, Alias: "live", Tags: map[string]string{"evcli:project": "shop"}})
	arn := "arn:aws:lambda:us-east-1:123456789012:function:orders"

	add, err := c.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String("orders"), Qualifier: aws.String("live"), StatementId: aws.String("evcli-rule"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com"),
		SourceArn: aws.String("arn:aws:events:us-east-1:123456789012:rule/shop/orders-created")})
	if err != nil {
		t.Fatal(err)
	}
	var stmt map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(add.Statement)), &stmt); err != nil || stmt["Resource"] != arn+":live" {
		t.Errorf("statement = %s (%v)", aws.ToString(add.Statement), err)
	}
	_, err = c.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("orders"), Qualifier: aws.String("live"), StatementId: aws.String("evcli-rule"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com")})
	var conflict *lambdatypes.ResourceConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("duplicate statement: %v", err)
	}
	pol, err := c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("orders"), Qualifier: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Sid       string
			Principal map[string]string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(pol.Policy)), &doc); err != nil || len(doc.Statement) != 1 ||
		doc.Statement[0].Principal["Service"] != "events.amazonaws.com" ||
		doc.Statement[0].Condition["ArnLike"]["AWS:SourceArn"] == "" {
		t.Errorf("policy = %s (%v)", aws.ToString(pol.Policy), err)
	}
	if _, err := c.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("orders"), Qualifier: aws.String("live"), StatementId: aws.String("evcli-rule")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("orders"), Qualifier: aws.String("live")}); errCode(err) != "ResourceNotFoundException" {
		t.Errorf("policy after remove: %v", err)
	}

	if _, err := c.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"team": "a", "evcli:function": "orders"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(arn)})
	if err != nil || fmt.Sprint(tags.Tags) != "map[evcli:function:orders evcli:project:shop]" {
		t.Errorf("tags = %v, %v", tags, err)
	}

	if _, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("orders"), ReservedConcurrentExecutions: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	gc, err := c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("orders")})
	if err != nil || aws.ToInt32(gc.ReservedConcurrentExecutions) != 5 {
		t.Errorf("concurrency = %v, %v", gc, err)
	}
	if _, err := c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	gc, err = c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("orders")})
	if err != nil || gc.ReservedConcurrentExecutions != nil {
		t.Errorf("concurrency after delete = %v, %v", gc, err)
	}
}

func TestLambdaInvoke(t *testing.T) {
	ctx := context.Background()
	f, c := newLambda(t)
	f.SeedFunction(awstest.FunctionSpec{Name: "orders", Publish: true, Alias: "live", MemorySize: 512})
	f.SetInvoke(func(fn string, payload []byte) ([]byte, error) {
		if strings.Contains(string(payload), "boom") {
			return nil, &awstest.FunctionError{Type: "TypeError", Message: "boom"}
		}
		return []byte(`{"ok":true,"fn":"` + fn + `"}`), nil
	})
	cases := []struct {
		payload   string
		wantBody  string
		wantError string
	}{
		{`{"id":1}`, `{"ok":true,"fn":"orders"}`, ""},
		{`{"boom":1}`, `{"errorMessage":"boom","errorType":"TypeError","trace":[]}`, "Unhandled"},
	}
	for _, tc := range cases {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("orders"), Qualifier: aws.String("live"),
			Payload: []byte(tc.payload), LogType: lambdatypes.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		if string(out.Payload) != tc.wantBody || aws.ToString(out.FunctionError) != tc.wantError || aws.ToString(out.ExecutedVersion) != "1" {
			t.Errorf("invoke %s: payload %s, error %q, version %s", tc.payload, out.Payload, aws.ToString(out.FunctionError), aws.ToString(out.ExecutedVersion))
		}
		log, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(log)), "\n")
		if id, _ := awsmw.GetRequestIDMetadata(out.ResultMetadata); !strings.HasPrefix(lines[0], "START RequestId: "+id+" ") {
			t.Errorf("request id %q is not the log's: %q", id, lines[0])
		}
		if !strings.HasPrefix(lines[0], "START RequestId: ") || !strings.HasPrefix(lines[len(lines)-1], "REPORT RequestId: ") ||
			!strings.Contains(lines[len(lines)-1], "Memory Size: 512 MB") {
			t.Errorf("log tail = %q", log)
		}
	}
	st, _ := f.Function("orders")
	if len(st.Invocations) != 2 || st.Invocations[0].Version != "1" {
		t.Errorf("invocations = %+v", st.Invocations)
	}
}
