package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/evcli/evcli/providers"
)

// inlinePolicyName is the role's inline policy holding the function's least
// privileges.
const inlinePolicyName = "evcli"

const lambdaTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func basicExecutionPolicyARN(partition string) string {
	return "arn:" + partition + ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

// policyDoc is an IAM policy document.
type policyDoc struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid      string   `json:"Sid,omitempty"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

// leastPrivilege is the inline policy of a function's role
// (leastPrivilegeDoc) with this account's ARNs.
func (d *Deployer) leastPrivilege(ctx context.Context) (string, error) {
	s, err := d.scope(ctx)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(leastPrivilegeDoc(s, d.o.Bus, d.o.Table))
	return string(b), err
}

// samePolicy compares two policy documents as JSON values (IAM returns them
// URL-encoded and may reorder nothing but whitespace).
func samePolicy(a, b string) bool {
	if s, err := url.QueryUnescape(a); err == nil {
		a = s
	}
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// iamTags is tags in IAM's form, sorted by key.
func iamTags(tags map[string]string) []iamtypes.Tag {
	out := make([]iamtypes.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, iamtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

func hasTag(tags []iamtypes.Tag, k, v string) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == k && aws.ToString(t.Value) == v {
			return true
		}
	}
	return false
}

// ensureRole returns the execution role ARN for fd: fd.Role when given,
// else evcli-<project>-<fn>, created or brought up to date (trust policy for
// Lambda, AWSLambdaBasicExecutionRole, the least-privilege inline policy).
// created says whether the role is new (so IAM may not have propagated it).
func (d *Deployer) ensureRole(ctx context.Context, fd providers.FunctionDeployment) (arn string, created bool, err error) {
	if fd.Role != "" {
		return fd.Role, false, nil
	}
	name := d.roleName(fd.Name)
	res := "role " + name
	_, part, err := d.identity(ctx)
	if err != nil {
		return "", false, err
	}
	policy, err := d.leastPrivilege(ctx)
	if err != nil {
		return "", false, err
	}
	got, err := retry(ctx, d, res, func(ctx context.Context) (*iam.GetRoleOutput, error) {
		return d.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	})
	switch {
	case providers.CodeOf(err) == providers.NotFound:
		out, err := retry(ctx, d, res, func(ctx context.Context) (*iam.CreateRoleOutput, error) {
			return d.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name),
				AssumeRolePolicyDocument: aws.String(lambdaTrustPolicy),
				Description:              aws.String(roleDescription(d.o.Project, fd.Name)),
				Tags:                     iamTags(ownerTags(d.o.Project, fd.Name))})
		})
		if err != nil {
			return "", false, err
		}
		arn, created = aws.ToString(out.Role.Arn), true
	case err != nil:
		return "", false, err
	default:
		if !hasTag(got.Role.Tags, TagProject, d.o.Project) {
			return "", false, &providers.Error{Code: providers.Conflict, Resource: res,
				Err:  fmt.Errorf("a role of that name exists and is not tagged %s=%s", TagProject, d.o.Project),
				Hint: "give the function an execution role with role: in evcli.yaml, or delete the existing role"}
		}
		arn = aws.ToString(got.Role.Arn)
		if !samePolicy(aws.ToString(got.Role.AssumeRolePolicyDocument), lambdaTrustPolicy) {
			if err := do(ctx, d, res, func(ctx context.Context) (*iam.UpdateAssumeRolePolicyOutput, error) {
				return d.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(lambdaTrustPolicy)})
			}); err != nil {
				return "", false, err
			}
		}
	}

	basic := basicExecutionPolicyARN(part)
	attached := false
	if !created {
		var marker *string
		for {
			page, err := retry(ctx, d, res, func(ctx context.Context) (*iam.ListAttachedRolePoliciesOutput, error) {
				return d.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name), Marker: marker})
			})
			if err != nil {
				return "", false, err
			}
			for _, p := range page.AttachedPolicies {
				attached = attached || aws.ToString(p.PolicyArn) == basic
			}
			if !page.IsTruncated || page.Marker == nil {
				break
			}
			marker = page.Marker
		}
	}
	if !attached {
		if err := do(ctx, d, res, func(ctx context.Context) (*iam.AttachRolePolicyOutput, error) {
			return d.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(basic)})
		}); err != nil {
			return "", false, err
		}
	}
	current := ""
	if !created {
		out, err := retry(ctx, d, res, func(ctx context.Context) (*iam.GetRolePolicyOutput, error) {
			return d.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(inlinePolicyName)})
		})
		if err != nil && providers.CodeOf(err) != providers.NotFound {
			return "", false, err
		}
		if err == nil {
			current = aws.ToString(out.PolicyDocument)
		}
	}
	if !samePolicy(current, policy) {
		if err := do(ctx, d, res, func(ctx context.Context) (*iam.PutRolePolicyOutput, error) {
			return d.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(inlinePolicyName), PolicyDocument: aws.String(policy)})
		}); err != nil {
			return "", false, err
		}
	}
	return arn, created, nil
}

// deleteRole deletes a role evcli created: its managed policies are
// detached and its inline policies deleted first, as IAM requires. A role
// not tagged with this project is left alone.
func (d *Deployer) deleteRole(ctx context.Context, name string) error {
	res := "role " + name
	got, err := retry(ctx, d, res, func(ctx context.Context) (*iam.GetRoleOutput, error) {
		return d.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	})
	if providers.CodeOf(err) == providers.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if !hasTag(got.Role.Tags, TagProject, d.o.Project) {
		return nil
	}
	att, err := retry(ctx, d, res, func(ctx context.Context) (*iam.ListAttachedRolePoliciesOutput, error) {
		return d.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	})
	if err != nil {
		return err
	}
	for _, p := range att.AttachedPolicies {
		if err := do(ctx, d, res, func(ctx context.Context) (*iam.DetachRolePolicyOutput, error) {
			return d.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: p.PolicyArn})
		}); err != nil && providers.CodeOf(err) != providers.NotFound {
			return err
		}
	}
	inl, err := retry(ctx, d, res, func(ctx context.Context) (*iam.ListRolePoliciesOutput, error) {
		return d.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	})
	if err != nil {
		return err
	}
	for _, p := range inl.PolicyNames {
		if err := do(ctx, d, res, func(ctx context.Context) (*iam.DeleteRolePolicyOutput, error) {
			return d.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)})
		}); err != nil && providers.CodeOf(err) != providers.NotFound {
			return err
		}
	}
	err = do(ctx, d, res, func(ctx context.Context) (*iam.DeleteRoleOutput, error) {
		return d.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
	})
	if providers.CodeOf(err) == providers.NotFound {
		return nil
	}
	return err
}
