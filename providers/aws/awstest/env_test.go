package awstest_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/evcli/evcli/providers/aws/awstest"
)

// TestEnvRoutesEveryService loads the SDK's default configuration from
// Env() alone, as the evcli binary does, and reaches every service through
// the one AWS_ENDPOINT_URL.
func TestEnvRoutesEveryService(t *testing.T) {
	ctx := context.Background()
	f := awstest.New()
	defer f.Close()
	for _, kv := range f.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	os.Unsetenv("AWS_PROFILE")
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SeedFunction(awstest.FunctionSpec{Name: "orders", Publish: true, Alias: "live"})
	calls := []func() error{
		func() error {
			_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		},
		func() error {
			_, err := lambda.NewFromConfig(cfg).GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{
				FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:orders:live")})
			return err
		},
		func() error { _, err := iam.NewFromConfig(cfg).ListRoles(ctx, &iam.ListRolesInput{}); return err },
		func() error {
			_, err := eventbridge.NewFromConfig(cfg).ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
			return err
		},
		func() error {
			_, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
			return err
		},
		func() error {
			_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("artifacts")})
			return err
		},
	}
	for _, call := range calls {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, c := range f.Calls() {
		got = append(got, c.String())
	}
	want := "sts:GetCallerIdentity lambda:GetFunctionConfiguration orders iam:ListRoles events:ListEventBuses logs:DescribeLogGroups s3:CreateBucket artifacts"
	if strings.Join(got, " ") != want {
		t.Errorf("calls:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}
