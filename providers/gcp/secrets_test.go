package gcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/gcp/gcptest"
)

// secretEnv is a harness whose functions answer with their API_KEY (as the
// platform hands it to the code: in the environment), with a provider
// writing debug lines and warnings to out.
func secretEnv(t *testing.T, out *bytes.Buffer) (*harness, *providers.Provider) {
	t.Helper()
	h, err := newHarness(t.TempDir(), gcptest.WithInvoke(func(fn *functionspb.Function, _ []byte, _ http.Header, _ []byte) gcptest.Result {
		b, _ := json.Marshal(fn.GetServiceConfig().GetEnvironmentVariables()["API_KEY"])
		return gcptest.Result{Status: 200, Body: b}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	p, err := h.Open(context.Background(), providers.OpenOptions{Project: "shop", Bus: "shop-bus", Debug: out, Warn: out})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return h, p
}

// deploySecret runs what evcli deploy runs for one function whose API_KEY
// is secret — hash the desired values, read what is deployed, plan, apply
// — writing everything a person could see (plan, JSON plan, progress,
// errors) to out. It returns the plan.
func deploySecret(t *testing.T, h *harness, p *providers.Provider, role, value string, out *bytes.Buffer) []deploy.Change {
	t.Helper()
	ctx := context.Background()
	fd := h.fn(t, "shop", "orders", 1, `{"source":["shop"]}`)
	fd.Role = role
	if value != "" {
		fd.Env["API_KEY"] = value
		fd.SecretNames = []string{"API_KEY"}
		hashes, err := p.Deployer.(providers.SecretHasher).HashSecrets(ctx, map[string]string{"API_KEY": value})
		if err != nil {
			t.Fatal(err)
		}
		fd.SecretHashes = hashes
	}
	deployed, err := p.Deployer.Deployed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	plan := deploy.Plan([]providers.FunctionDeployment{fd}, deployed, deploy.PlanOptions{})
	js, _ := json.Marshal(plan)
	fmt.Fprintf(out, "%+v\n%s\n%+v\n", plan, js, deployed)
	for _, r := range deploy.Apply(ctx, plan, p.Deployer, deploy.ApplyOptions{Progress: func(pr deploy.Progress) {
		fmt.Fprintf(out, "%s: %s %v\n", pr.Label(), pr.Step, pr.Err)
	}}) {
		if r.Err != nil {
			fmt.Fprintln(out, r.Err)
			t.Fatalf("apply: %v", r.Err)
		}
	}
	return plan
}

func invokeSecret(t *testing.T, p *providers.Provider) string {
	t.Helper()
	res, err := p.Invoker.Invoke(context.Background(), "orders", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var s string
	json.Unmarshal(res.Payload, &s)
	return s
}

// TestSecretsGoToSecretManager: a function's secrets become Secret
// Manager secrets its service account may read, referenced by version; the
// function reads the value; the same value again plans nothing and makes
// no mutating call; a new value adds a version and moves the reference;
// nothing anyone sees holds a value.
func TestSecretsGoToSecretManager(t *testing.T) {
	for _, role := range []string{"", "orders@evcli-conformance.iam.gserviceaccount.com"} {
		t.Run("role="+role, func(t *testing.T) {
			const v1, v2 = "key-value-4242", "rotated-value-1717"
			var out bytes.Buffer
			h, p := secretEnv(t, &out)
			deploySecret(t, h, p, role, v1, &out)

			id := SecretID("shop", "orders", "API_KEY")
			full := "projects/" + testCloudProject + "/secrets/" + id
			fn, ok := h.fake.Function("projects/" + testCloudProject + "/locations/" + testRegion + "/functions/" + FunctionID("shop", "orders"))
			if !ok {
				t.Fatal("no function")
			}
			sc := fn.GetServiceConfig()
			if _, inEnv := sc.GetEnvironmentVariables()["API_KEY"]; inEnv {
				t.Errorf("the secret is in the plain environment: %v", sc.GetEnvironmentVariables())
			}
			refs := sc.GetSecretEnvironmentVariables()
			if len(refs) != 1 || refs[0].Key != "API_KEY" || refs[0].Secret != id || refs[0].ProjectId != testCloudProject || refs[0].Version != "1" {
				t.Errorf("secret references = %v, want API_KEY -> %s version 1", refs, id)
			}
			if got, meta, ok := h.fake.Secret(full, "1"); !ok || got != v1 || meta.Labels[LabelProject] != "shop" || meta.Labels[LabelFunction] != "orders" {
				t.Errorf("secret %s = %q %v %v", full, got, meta, ok)
			}
			if got := invokeSecret(t, p); got != v1 {
				t.Errorf("the function reads API_KEY = %q, want the deployed value", got)
			}

			// The same value: nothing planned, no mutating call.
			before := len(h.MutatingCalls())
			plan := deploySecret(t, h, p, role, v1, &out)
			if deploy.HasChanges(plan) {
				t.Errorf("the same secret value plans %+v, want no change", plan)
			}
			if calls := h.MutatingCalls()[before:]; len(calls) > 0 {
				t.Errorf("a no-change deploy made mutating calls: %v", calls)
			}
			// ApplyFunction itself writes nothing for the same value.
			fd := h.fn(t, "shop", "orders", 1, `{"source":["shop"]}`)
			fd.Role, fd.Env["API_KEY"], fd.SecretNames = role, v1, []string{"API_KEY"}
			if err := p.Deployer.ApplyFunction(context.Background(), fd, false, nil); err != nil {
				t.Fatal(err)
			}
			if calls := h.MutatingCalls()[before:]; len(calls) > 0 {
				t.Errorf("ApplyFunction with the same value made mutating calls: %v", calls)
			}

			// Another value: a change named by key, a new version.
			plan = deploySecret(t, h, p, role, v2, &out)
			if len(plan) != 1 || !slices.ContainsFunc(plan[0].Fields, func(f deploy.FieldChange) bool { return strings.Contains(f.Field, "~API_KEY") }) {
				t.Errorf("a new secret value plans %+v, want environment ~API_KEY", plan)
			}
			if got := invokeSecret(t, p); got != v2 {
				t.Errorf("after the new value the function reads %q", got)
			}
			if got, _, _ := h.fake.Secret(full, "latest"); got != v2 {
				t.Errorf("latest version = %q", got)
			}

			// The secret leaves evcli.yaml: the reference and the secret go.
			deploySecret(t, h, p, role, "", &out)
			if s := h.fake.Secrets(); len(s) != 0 {
				t.Errorf("secrets left after the variable was removed: %v", s)
			}
			if got := invokeSecret(t, p); got != "" {
				t.Errorf("without the secret the function reads %q", got)
			}

			for _, v := range []string{v1, v2} {
				if strings.Contains(out.String(), v) {
					t.Errorf("output holds the secret value %q:\n%s", v, out.String())
				}
			}
			if !strings.Contains(out.String(), "debug: gcp:") {
				t.Errorf("no debug lines were written (the check above proves nothing):\n%s", out.String())
			}
		})
	}
}

// TestSecretErrors: Secret Manager's errors reach the user classified and
// without the value; a secret of the same name evcli did not make is not
// taken; deleting the function deletes its secrets.
func TestSecretErrors(t *testing.T) {
	const value = "never-printed-5151"
	cases := []struct {
		method string
		err    error
		code   providers.Code
	}{
		{"CreateSecret", status.Error(codes.PermissionDenied, "Permission 'secretmanager.secrets.create' denied for resource 'projects/evcli-conformance'"), providers.PermissionDenied},
		{"AddSecretVersion", status.Error(codes.PermissionDenied, "Permission 'secretmanager.versions.add' denied"), providers.PermissionDenied},
		{"CreateSecret", status.Error(codes.AlreadyExists, "Secret [projects/evcli-conformance/secrets/x] already exists."), providers.Conflict},
		{"GetSecret", status.Error(codes.Unavailable, "The service is currently unavailable."), providers.Unavailable},
		{"SetSecretIamPolicy", status.Error(codes.PermissionDenied, "Permission 'secretmanager.secrets.setIamPolicy' denied"), providers.PermissionDenied},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.code.String(), func(t *testing.T) {
			var out bytes.Buffer
			h, p := secretEnv(t, &out)
			h.fake.Fail(c.method, c.err)
			fd := h.fn(t, "shop", "orders", 1)
			fd.Role, fd.Env["API_KEY"], fd.SecretNames = "orders@x.iam.gserviceaccount.com", value, []string{"API_KEY"}
			err := p.Deployer.ApplyFunction(context.Background(), fd, true, func(s string) { out.WriteString(s + "\n") })
			if providers.CodeOf(err) != c.code {
				t.Fatalf("ApplyFunction with %s failing = %v (code %v), want %v", c.method, err, providers.CodeOf(err), c.code)
			}
			if strings.Contains(err.Error()+out.String(), value) {
				t.Errorf("the error or output holds the value: %v\n%s", err, out.String())
			}
		})
	}

	t.Run("not evcli's", func(t *testing.T) {
		var out bytes.Buffer
		h, p := secretEnv(t, &out)
		// Someone made a secret of the name evcli would use, unlabelled.
		id := SecretID("shop", "orders", "API_KEY")
		ctx := context.Background()
		d := p.Deployer.(*deployer)
		sm, err := d.secretClient(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sm.CreateSecret(ctx, secretRequest(testCloudProject, id)); err != nil {
			t.Fatal(err)
		}
		fd := h.fn(t, "shop", "orders", 1)
		fd.Role, fd.Env["API_KEY"], fd.SecretNames = "orders@x.iam.gserviceaccount.com", value, []string{"API_KEY"}
		if err := p.Deployer.ApplyFunction(ctx, fd, true, nil); providers.CodeOf(err) != providers.Conflict {
			t.Errorf("deploying over a secret evcli did not make = %v, want Conflict", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		var out bytes.Buffer
		h, p := secretEnv(t, &out)
		deploySecret(t, h, p, "", value, &out)
		if len(h.fake.Secrets()) != 1 {
			t.Fatalf("secrets %v", h.fake.Secrets())
		}
		if err := p.Deployer.DeleteFunction(context.Background(), "orders"); err != nil {
			t.Fatal(err)
		}
		if s := h.fake.Secrets(); len(s) != 0 {
			t.Errorf("deleting the function left its secrets %v", s)
		}
	})
}

// TestFakeRefusesASecretTheAccountCannotRead: the fake fails a revision
// whose account lacks the accessor role, as Cloud Run does, so the tests
// above prove the grant.
func TestFakeRefusesASecretTheAccountCannotRead(t *testing.T) {
	var out bytes.Buffer
	h, p := secretEnv(t, &out)
	ctx := context.Background()
	d := p.Deployer.(*deployer)
	sm, err := d.secretClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := "unreadable"
	if _, err := sm.CreateSecret(ctx, secretRequest(testCloudProject, id)); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.AddSecretVersion(ctx, versionRequest(testCloudProject, id, "x")); err != nil {
		t.Fatal(err)
	}
	fd := h.fn(t, "shop", "orders", 1)
	want, err := d.desired(fd)
	if err != nil {
		t.Fatal(err)
	}
	want.ServiceConfig.SecretEnvironmentVariables = []*functionspb.SecretEnvVar{{Key: "K", ProjectId: testCloudProject, Secret: id, Version: "1"}}
	src, err := d.upload(ctx, fd)
	if err != nil {
		t.Fatal(err)
	}
	want.BuildConfig.Source = &functionspb.Source{Source: &functionspb.Source_StorageSource{StorageSource: src}}
	op, err := d.fn.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: d.parent(), Function: want, FunctionId: FunctionID("shop", "orders")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.wait(ctx, "orders", op, func(string) {}); err == nil || !strings.Contains(err.Error(), "Permission denied on secret") {
		t.Errorf("a function whose account cannot read its secret deployed: %v", err)
	}
}

func secretRequest(project, id string) *secretmanagerpb.CreateSecretRequest {
	return &secretmanagerpb.CreateSecretRequest{Parent: "projects/" + project, SecretId: id, Secret: &secretmanagerpb.Secret{
		Replication: &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}}}}
}

func versionRequest(project, id, value string) *secretmanagerpb.AddSecretVersionRequest {
	return &secretmanagerpb.AddSecretVersionRequest{Parent: "projects/" + project + "/secrets/" + id,
		Payload: &secretmanagerpb.SecretPayload{Data: []byte(value)}}
}

// TestSecretsWhenTheFirstRevisionNeedsThem: a new function on Google's
// default account is created before its secrets (its account is known only
// then); code that needs a secret to start fails that first revision, and
// deploy goes on to add the secrets, whose revision starts.
func TestSecretsWhenTheFirstRevisionNeedsThem(t *testing.T) {
	const value = "needed-at-start-3131"
	h, err := newHarness(t.TempDir(), gcptest.WithStart(func(_ *functionspb.Function, env map[string]string) error {
		if env["API_KEY"] == "" {
			return errors.New("KeyError: 'API_KEY'")
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	p := openOn(t, h, "shop")
	fd := h.fn(t, "shop", "orders", 1, `{"source":["shop"]}`)
	fd.Env["API_KEY"], fd.SecretNames = value, []string{"API_KEY"}
	var st steps
	if err := p.Deployer.ApplyFunction(context.Background(), fd, true, st.add); err != nil {
		t.Fatalf("ApplyFunction: %v (steps %q)", err, st.all)
	}
	if !slices.Contains(st.all, "the first revision failed without its secrets; adding them") {
		t.Errorf("steps %q do not say the first revision failed", st.all)
	}
	fn, _ := h.fake.Function("projects/" + testCloudProject + "/locations/" + testRegion + "/functions/" + FunctionID("shop", "orders"))
	if fn.State != functionspb.Function_ACTIVE || len(fn.GetServiceConfig().GetSecretEnvironmentVariables()) != 1 {
		t.Errorf("function %v with secrets %v, want ACTIVE with API_KEY", fn.State, fn.GetServiceConfig().GetSecretEnvironmentVariables())
	}
	for _, s := range st.all {
		if strings.Contains(s, value) {
			t.Errorf("step %q holds the value", s)
		}
	}
}
