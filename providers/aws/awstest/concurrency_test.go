package awstest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"golang.org/x/sync/errgroup"

	"github.com/evcli/evcli/providers/aws/awstest"
)

// TestParallelDeploys drives many functions at once, as the deployer does,
// and checks every call was recorded with its outcome.
func TestParallelDeploys(t *testing.T) {
	ctx := context.Background()
	f, c := newLambda(t, awstest.WithSettleReads(1))
	const n = 20
	var g errgroup.Group
	for i := range n {
		g.Go(func() error {
			name := fmt.Sprintf("fn-%02d", i)
			if _, err := c.CreateFunction(ctx, createInput(name, []byte(name))); err != nil {
				return err
			}
			if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}); err != nil {
				return err
			}
			if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)}); err != nil {
				return err
			}
			_, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("1")})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if len(calls) != 4*n || len(f.MutatingCalls()) != 3*n {
		t.Errorf("%d calls, %d mutating", len(calls), len(f.MutatingCalls()))
	}
	for _, call := range calls {
		if call.Status == 0 || call.Code != "" {
			t.Errorf("call %v: status %d", call, call.Status)
		}
	}
	if names := f.FunctionNames(); len(names) != n {
		t.Errorf("functions = %v", names)
	}
}

func TestCodeLocation(t *testing.T) {
	ctx := context.Background()
	f, c := newLambda(t)
	f.SeedFunction(awstest.FunctionSpec{Name: "orders", Code: []byte("PK zip bytes")})
	g, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(aws.ToString(g.Code.Location))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "PK zip bytes" {
		t.Errorf("code at Location = %q", body)
	}
}

// BenchmarkGetFunction measures one SDK round trip through the fake.
func BenchmarkGetFunction(b *testing.B) {
	ctx := context.Background()
	f := awstest.New()
	defer f.Close()
	f.SeedFunction(awstest.FunctionSpec{Name: "orders", Tags: map[string]string{"evcli:project": "shop"}})
	c := lambda.NewFromConfig(f.Config(ctx))
	for b.Loop() {
		if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders")}); err != nil {
			b.Fatal(err)
		}
	}
}
