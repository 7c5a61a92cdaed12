package awstest_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/evcli/evcli/providers/aws/awstest"
)

const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func TestIAMRoles(t *testing.T) {
	ctx := context.Background()
	f := awstest.New()
	defer f.Close()
	c := iam.NewFromConfig(f.Config(ctx))

	cr, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("shop-orders"), AssumeRolePolicyDocument: aws.String(trust),
		Tags: []iamtypes.Tag{{Key: aws.String("evcli:project"), Value: aws.String("shop")}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(cr.Role.Arn); got != "arn:aws:iam::123456789012:role/shop-orders" {
		t.Errorf("arn = %s", got)
	}
	doc, _ := url.QueryUnescape(aws.ToString(cr.Role.AssumeRolePolicyDocument))
	if doc != trust {
		t.Errorf("trust policy = %s", doc)
	}
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("shop-orders"), AssumeRolePolicyDocument: aws.String(trust)})
	var exists *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("second CreateRole: %v", err)
	}

	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"events:PutEvents","Resource":"arn:aws:events:us-east-1:123456789012:event-bus/shop"}]}`
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("shop-orders"), PolicyName: aws.String("evcli"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	gp, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("shop-orders"), PolicyName: aws.String("evcli")})
	if err != nil {
		t.Fatal(err)
	}
	if raw := aws.ToString(gp.PolicyDocument); raw == policy {
		t.Error("GetRolePolicy returned the document unencoded; IAM URL-encodes it")
	} else if dec, _ := url.QueryUnescape(raw); dec != policy {
		t.Errorf("decoded policy = %s", dec)
	}
	basic := "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("shop-orders"), PolicyArn: aws.String(basic)}); err != nil {
		t.Fatal(err)
	}
	ap, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("shop-orders")})
	if err != nil || len(ap.AttachedPolicies) != 1 || aws.ToString(ap.AttachedPolicies[0].PolicyName) != "AWSLambdaBasicExecutionRole" {
		t.Errorf("attached = %+v, %v", ap, err)
	}
	lp, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("shop-orders")})
	if err != nil || fmt.Sprint(lp.PolicyNames) != "[evcli]" || lp.IsTruncated {
		t.Errorf("inline = %+v, %v", lp, err)
	}
	if _, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("shop-orders"), Tags: []iamtypes.Tag{{Key: aws.String("evcli:function"), Value: aws.String("orders")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("shop-orders")})
	if err != nil || len(tags.Tags) != 2 {
		t.Errorf("tags = %+v, %v", tags, err)
	}
	gr, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("shop-orders")})
	if err != nil || len(gr.Role.Tags) != 2 {
		t.Errorf("GetRole = %+v, %v", gr, err)
	}

	// Deleting needs the policies gone first.
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("shop-orders")})
	var conflict *iamtypes.DeleteConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("DeleteRole with policies: %v", err)
	}
	if _, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("shop-orders"), PolicyName: aws.String("evcli")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("shop-orders"), PolicyArn: aws.String(basic)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("shop-orders")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("shop-orders")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Errorf("GetRole after delete: %v", err)
	}
}

func TestIAMListRolesPages(t *testing.T) {
	ctx := context.Background()
	f := awstest.New()
	defer f.Close()
	for i := range 7 {
		f.SeedRole(awstest.RoleSpec{Name: fmt.Sprintf("role-%d", i), Tags: map[string]string{"evcli:project": "shop"}})
	}
	c := iam.NewFromConfig(f.Config(ctx))
	p := iam.NewListRolesPaginator(c, &iam.ListRolesInput{MaxItems: aws.Int32(3)})
	var names []string
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Roles {
			names = append(names, aws.ToString(r.RoleName))
		}
	}
	if len(names) != 7 || names[6] != "role-6" {
		t.Errorf("roles = %v", names)
	}
}

func TestSTSCallerIdentity(t *testing.T) {
	ctx := context.Background()
	f := awstest.New(awstest.WithAccount("210987654321"))
	defer f.Close()
	out, err := sts.NewFromConfig(f.Config(ctx)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "210987654321" {
		t.Errorf("account = %s", aws.ToString(out.Account))
	}
	f.SetAccount("111111111111")
	out, _ = sts.NewFromConfig(f.Config(ctx)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if aws.ToString(out.Account) != "111111111111" {
		t.Errorf("account after SetAccount = %s", aws.ToString(out.Account))
	}
}

func TestRoleCheck(t *testing.T) {
	ctx := context.Background()
	f, c := newLambda(t, awstest.WithRoleCheck())
	_, err := c.CreateFunction(ctx, createInput("orders", []byte("x")))
	var bad *lambdatypes.InvalidParameterValueException
	if !errors.As(err, &bad) || bad.ErrorMessage() != "The role defined for the function cannot be assumed by Lambda." {
		t.Fatalf("create with a missing role: %v", err)
	}
	f.SeedRole(awstest.RoleSpec{Name: "orders-role"})
	if _, err := c.CreateFunction(ctx, createInput("orders", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	_ = lambda.GetFunctionInput{}
}

func TestFaultsAndRecording(t *testing.T) {
	ctx := context.Background()
	f := awstest.New(awstest.WithSettleReads(0))
	defer f.Close()
	cfg := f.Config(ctx)
	lc, ic := lambda.NewFromConfig(cfg), iam.NewFromConfig(cfg)
	f.SeedFunction(awstest.FunctionSpec{Name: "orders"})
	f.SeedFunction(awstest.FunctionSpec{Name: "payments"})

	cases := []struct {
		name      string
		fault     awstest.Fault
		call      func() error
		wantErr   string // "" when the SDK's retries get through
		wantCalls []string
	}{
		{
			name:  "throttled twice then ok",
			fault: awstest.Fault{Service: "lambda", Action: "UpdateFunctionCode", Code: "TooManyRequestsException", Times: 2},
			call: func() error {
				_, err := lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("orders"), ZipFile: []byte("new")})
				return err
			},
			wantCalls: []string{
				"lambda:UpdateFunctionCode orders -> 429 TooManyRequestsException",
				"lambda:UpdateFunctionCode orders -> 429 TooManyRequestsException",
				"lambda:UpdateFunctionCode orders",
			},
		},
		{
			name:  "IAM throttling",
			fault: awstest.Fault{Service: "iam", Action: "CreateRole", Code: "Throttling", Times: 1},
			call: func() error {
				_, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trust)})
				return err
			},
			wantCalls: []string{"iam:CreateRole r -> 400 Throttling", "iam:CreateRole r"},
		},
		{
			name:  "conflict is not retried by the SDK",
			fault: awstest.Fault{Service: "lambda", Action: "UpdateFunctionConfiguration", Code: "ResourceConflictException"},
			call: func() error {
				_, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("orders"), MemorySize: aws.Int32(256)})
				return err
			},
			wantErr:   "ResourceConflictException",
			wantCalls: []string{"lambda:UpdateFunctionConfiguration orders -> 409 ResourceConflictException"},
		},
		{
			name:  "one function fails for good",
			fault: awstest.Fault{Service: "lambda", Match: "payments", Code: "ServiceException", Times: -1},
			call: func() error {
				if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders")}); err != nil {
					return err
				}
				_, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("payments")})
				return err
			},
			wantErr: "ServiceException",
			wantCalls: []string{
				"lambda:GetFunction orders",
				"lambda:GetFunction payments -> 500 ServiceException",
				"lambda:GetFunction payments -> 500 ServiceException",
				"lambda:GetFunction payments -> 500 ServiceException",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.ClearFaults()
			f.ResetCalls()
			f.Inject(tc.fault)
			err := tc.call()
			if got := errCode(err); got != tc.wantErr {
				t.Errorf("error = %v, want code %q", err, tc.wantErr)
			}
			var got []string
			for _, c := range f.Calls() {
				got = append(got, c.String())
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantCalls) {
				t.Errorf("calls:\n got %q\nwant %q", got, tc.wantCalls)
			}
		})
	}
	f.ResetCalls()
	lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders")})
	lc.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String("arn:aws:lambda:us-east-1:123456789012:function:orders"), Tags: map[string]string{"a": "b"}})
	if m := f.MutatingCalls(); len(m) != 1 || m[0].Action != "TagResource" || !m[0].Mutating {
		t.Errorf("mutating calls = %v", m)
	}
}
