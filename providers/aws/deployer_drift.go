package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/evcli/evcli/providers"
)

// drift reads what evcli owns for fd besides the function and its rules —
// the execution role evcli made (trust policy, AWSLambdaBasicExecutionRole,
// the least-privilege inline policy, compared as documents) and the log
// group's retention — and names what differs from what ApplyFunction makes.
// Read calls only.
func (d *Deployer) drift(ctx context.Context, fd *providers.FunctionDeployment) ([]string, error) {
	var out []string
	if fd.Role == "" {
		rd, err := d.roleDrift(ctx, fd.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, rd...)
	}
	group := DefaultLogGroupPrefix + fd.PhysicalName
	res := "log group " + group
	lg, err := retry(ctx, d, res, func(ctx context.Context) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
		return d.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	})
	if err != nil {
		return nil, err
	}
	found := false
	for _, g := range lg.LogGroups {
		if aws.ToString(g.LogGroupName) != group {
			continue
		}
		found = true
		if have := int(aws.ToInt32(g.RetentionInDays)); d.retentionSet && have != d.o.LogRetentionDays {
			out = append(out, fmt.Sprintf("log retention %s -> %d days", retentionLabel(have), d.o.LogRetentionDays))
		}
	}
	if !found {
		out = append(out, "log group missing")
	}
	return out, nil
}

func retentionLabel(days int) string {
	if days == 0 {
		return "never-expire"
	}
	return fmt.Sprint(days)
}

// roleDrift compares the role evcli makes for fn in this region with what
// IAM holds.
func (d *Deployer) roleDrift(ctx context.Context, fn string) ([]string, error) {
	name := d.roleName(fn)
	res := "role " + name
	got, err := retry(ctx, d, res, func(ctx context.Context) (*iam.GetRoleOutput, error) {
		return d.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	})
	if providers.CodeOf(err) == providers.NotFound {
		return []string{"role missing"}, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	if !samePolicy(aws.ToString(got.Role.AssumeRolePolicyDocument), lambdaTrustPolicy) {
		out = append(out, "role trust policy")
	}
	_, part, err := d.identity(ctx)
	if err != nil {
		return nil, err
	}
	att, err := retry(ctx, d, res, func(ctx context.Context) (*iam.ListAttachedRolePoliciesOutput, error) {
		return d.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	})
	if err != nil {
		return nil, err
	}
	basic := false
	for _, p := range att.AttachedPolicies {
		basic = basic || aws.ToString(p.PolicyArn) == basicExecutionPolicyARN(part)
	}
	if !basic {
		out = append(out, "role AWSLambdaBasicExecutionRole detached")
	}
	want, err := d.leastPrivilege(ctx)
	if err != nil {
		return nil, err
	}
	pol, err := retry(ctx, d, res, func(ctx context.Context) (*iam.GetRolePolicyOutput, error) {
		return d.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(inlinePolicyName)})
	})
	switch {
	case providers.CodeOf(err) == providers.NotFound:
		out = append(out, "role policy missing")
	case err != nil:
		return nil, err
	case !samePolicy(aws.ToString(pol.PolicyDocument), want):
		out = append(out, "role policy")
	}
	return out, nil
}
