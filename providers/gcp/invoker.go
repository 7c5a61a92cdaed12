package gcp

import (
	"context"

	"cloud.google.com/go/iam/apiv1/iampb"
	run "cloud.google.com/go/run/apiv2"
	gax "github.com/googleapis/gax-go/v2"
)

// iamPolicies is the part of Cloud Run's services client ensureInvoker uses.
type iamPolicies interface {
	GetIamPolicy(context.Context, *iampb.GetIamPolicyRequest, ...gax.CallOption) (*iampb.Policy, error)
	SetIamPolicy(context.Context, *iampb.SetIamPolicyRequest, ...gax.CallOption) (*iampb.Policy, error)
}

var _ iamPolicies = (*run.ServicesClient)(nil)

// InvokerRole is what a push subscription's identity needs on the
// function's Cloud Run service: Pub/Sub presents an OIDC token of that
// service account, and Cloud Run refuses the push (403, retried for ever)
// without it.
const InvokerRole = "roles/run.invoker"

// ensureInvoker gives member InvokerRole on service with Cloud Run's
// read-modify-write: GetIamPolicy, then, only when the binding is
// missing, SetIamPolicy with the etag read; a race with another writer
// (Aborted: the etag moved) reads and tries again, three times at most.
// A binding that is there already costs one read and no write.
func (d *deployer) ensureInvoker(ctx context.Context, service, member string, step func(string)) error {
	if d.run == nil || service == "" {
		return nil
	}
	if step == nil {
		step = func(string) {}
	}
	return d.ensureRole(ctx, d.run, service, InvokerRole, member, step)
}
