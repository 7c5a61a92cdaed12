package aws

import (
	"context"
	"errors"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/evcli/evcli/providers"
)

// Options select the AWS credentials and region (--profile, --region, or
// evcli.yaml's region).
type Options struct {
	Profile string
	Region  string
}

// LoadConfig loads the AWS configuration as the AWS CLI does (environment,
// shared config and credentials files, SSO, IMDS) with o's profile and
// region when set. AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>
// (e.g. AWS_ENDPOINT_URL_DYNAMODB) redirect calls to LocalStack or an
// emulator; the SDK reads them itself.
func LoadConfig(ctx context.Context, o Options) (awssdk.Config, error) {
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		hint := `check AWS_PROFILE or --profile, or run "aws configure"`
		if o.Profile != "" {
			hint = `run "aws sso login --profile ` + o.Profile + `" or check the profile in ~/.aws/config`
		}
		return awssdk.Config{}, &providers.Error{Code: providers.Unauthenticated, Resource: "aws", Err: err, Hint: hint}
	}
	if cfg.Region == "" {
		return awssdk.Config{}, &providers.Error{Code: providers.Unconfigured, Resource: "aws", Err: errors.New("no region"),
			Hint: "set region: in evcli.yaml, pass --region, or set AWS_REGION"}
	}
	return cfg, nil
}
