package gcp

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/gcp/gcptest"
)

// TestPushIdentityMayInvoke: deploying a function with a rule gives the
// push subscription's service account roles/run.invoker on the function's
// service, keeping the bindings already there; a redeploy reads the
// policy and writes nothing; a race (Aborted) is read and retried; a
// denial is PermissionDenied. The fake's function URL refuses a push
// without the role (403), as Cloud Run does.
func TestPushIdentityMayInvoke(t *testing.T) {
	ctx := context.Background()
	h, p := deployEnv(t, "shop")
	fd := h.fn(t, "shop", "orders", 1, `{"source":["shop"]}`)
	if err := p.Deployer.ApplyFunction(ctx, fd, true, nil); err != nil {
		t.Fatal(err)
	}
	f, _ := h.fake.Function("projects/" + testCloudProject + "/locations/" + testRegion + "/functions/" + FunctionID("shop", "orders"))
	svc, member := f.GetServiceConfig().GetService(), "serviceAccount:"+f.GetServiceConfig().GetServiceAccountEmail()
	d := p.Deployer.(*deployer)
	pol, err := d.run.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: svc})
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.Bindings) != 1 || pol.Bindings[0].Role != InvokerRole || !slices.Equal(pol.Bindings[0].Members, []string{member}) {
		t.Fatalf("policy after deploy: %v", pol)
	}
	// Someone else's binding, then a redeploy: no write, theirs kept.
	pol.Bindings = append(pol.Bindings, &iampb.Binding{Role: "roles/run.developer", Members: []string{"user:ana@example.com"}})
	if _, err := d.run.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: svc, Policy: pol}); err != nil {
		t.Fatal(err)
	}
	before := len(h.MutatingCalls())
	if err := p.Deployer.ApplyFunction(ctx, fd, false, nil); err != nil {
		t.Fatal(err)
	}
	if got := h.MutatingCalls()[before:]; len(got) != 0 {
		t.Errorf("redeploy wrote %v", got)
	}

	// The binding removed (by hand), and a race on the first write.
	pol, _ = d.run.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: svc})
	pol.Bindings = pol.Bindings[1:]
	if _, err := d.run.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: svc, Policy: pol}); err != nil {
		t.Fatal(err)
	}
	// Without the role a push is refused.
	if _, err := p.Bus.Publish(ctx, "shop-bus", []providers.Event{{Source: "shop", DetailType: "X", Detail: json.RawMessage(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	if n, err := gcptest.Push(ctx, h.pubsubC, testCloudProject); err != nil || n != 0 {
		t.Fatalf("push without the invoker role: %d acknowledged, %v (want a 403, nothing acknowledged)", n, err)
	}
	h.fake.Fail("SetIamPolicy", status.Error(codes.Aborted, "There were concurrent policy changes."))
	var st steps
	if err := d.ensureInvoker(ctx, svc, member, st.add); err != nil {
		t.Fatalf("after one race: %v", err)
	}
	if len(st.all) != 2 {
		t.Errorf("steps %q: want the grant tried twice", st.all)
	}
	pol, _ = d.run.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: svc})
	if !slices.ContainsFunc(pol.Bindings, func(b *iampb.Binding) bool { return b.Role == InvokerRole && slices.Contains(b.Members, member) }) ||
		!slices.ContainsFunc(pol.Bindings, func(b *iampb.Binding) bool { return b.Role == "roles/run.developer" }) {
		t.Errorf("policy after the retried grant: %v", pol)
	}
	if n, err := gcptest.Push(ctx, h.pubsubC, testCloudProject); err != nil || n != 1 {
		t.Errorf("push with the invoker role: %d acknowledged, %v", n, err)
	}

	// Errors: denied, and a race that never ends.
	other := "serviceAccount:pusher@example.iam.gserviceaccount.com"
	h.fake.Fail("GetIamPolicy", status.Error(codes.PermissionDenied, "Permission 'run.services.getIamPolicy' denied"))
	if err := d.ensureInvoker(ctx, svc, other, nil); providers.CodeOf(err) != providers.PermissionDenied {
		t.Errorf("denied: %v", err)
	}
	ab := status.Error(codes.Aborted, "There were concurrent policy changes.")
	h.fake.Fail("SetIamPolicy", ab, ab, ab)
	if err := d.ensureInvoker(ctx, svc, other, func(string) {}); err == nil {
		t.Error("three races: no error")
	}
}
