package gcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/evcli/evcli/export"
	"github.com/evcli/evcli/internal/awsproject"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

// Export and deploy come from one desired state: each template is deployed
// to the fakes (gcptest for Cloud Functions, Cloud Run's IAM and the
// Firestore Admin API; pstest for Pub/Sub) and exported, and, resource by
// resource, what the fakes hold is compared with the exported Terraform's
// attributes — evaluated, with the references a Terraform apply would
// resolve (a function's URI and service account, the topic's id) taken
// from the fakes: names, labels, memory, timeout, max instances,
// environment, runtime, entry point; each subscription's topic, filter,
// labels, ack deadline, retry policy, push endpoint and OIDC identity; the
// invoker binding; the store writer and the TTL field.

// gcpProject renders tmpl as project shop on gcp with a Firestore store.
func gcpProject(t *testing.T, tmpl string) *project.Project {
	t.Helper()
	dir := awsproject.Render(t, tmpl, "eu-west-1", func(y string) string {
		y = strings.Replace(y, "provider: aws\nregion: eu-west-1\n", "provider: gcp\nregion: "+testRegion+"\n", 1)
		y = strings.Replace(y, "  payment:\n", "  payment:\n    concurrency: 3\n", 1) // fan-out, saga: max instances
		// fan-out, saga: the first function with this event gets a pattern
		// only the in-function guard enforces (the harness opts in):
		// deploy and export guard its zip alike.
		y = strings.Replace(y, "      - pattern: {source: [shop.orders], detail-type: [OrderCreated]}\n",
			"      - pattern: {source: [shop.orders], detail-type: [OrderCreated]}\n      - pattern: {source: [shop.orders], detail: {total: [{numeric: [\">\", 100]}]}}\n", 1)
		return strings.Replace(y, "type: dynamodb", "type: firestore", 1)
	})
	p, err := project.Load(dir+"/evcli.yaml", project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// openProject opens the provider on the harness for p, its store
// included (the Firestore Admin API on the fake; the store's data API is
// never called here).
func openProject(t *testing.T, h *harness, p *project.Project) *providers.Provider {
	t.Helper()
	env := h.env()
	env[envFirestore] = h.fake.Addr()
	env[envOverride+"FIRESTORE"] = h.fake.URL()
	o := providers.OpenOptions{Project: p.Name, Bus: p.Bus, Region: testRegion, CloudProject: testCloudProject, Dir: h.dir,
		Sleep: fastSleep, Getenv: func(k string) string { return env[k] }}
	if p.Store.Type == "firestore" {
		o.Store = providers.StoreSpec{Type: p.Store.Type, Table: p.Store.Table, TTLDays: p.Store.TTLDays,
			Keys: providers.StoreKeys{Aggregate: p.Store.Keys.Aggregate, Sort: p.Store.Keys.Sort, Version: p.Store.Keys.Version, TTL: p.Store.Keys.TTL}}
	}
	prov, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prov.Close(context.Background()) })
	return prov
}

func TestExportAgreesWithDeploy(t *testing.T) {
	for _, tmpl := range []string{"fan-out", "event-sourcing", "saga"} {
		t.Run(tmpl, func(t *testing.T) {
			ctx := context.Background()
			p := gcpProject(t, tmpl)
			h, err := newHarness(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(h.Close)
			prov := openProject(t, h, p)
			desired, err := export.Desired(ctx, export.Options{Project: p})
			if err != nil {
				t.Fatal(err)
			}
			// Deploy: the shared resources (topic, TTL, writer), then each function.
			changes, err := prov.Shared.PlanShared(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := prov.Shared.ApplyShared(ctx, changes, nil); err != nil {
				t.Fatal(err)
			}
			for _, fd := range desired {
				if err := prov.Deployer.ApplyFunction(ctx, fd, true, nil); err != nil {
					t.Fatalf("deploy %s: %v", fd.Name, err)
				}
			}
			ex, err := prov.Exporter.Export(ctx, desired, providers.FormatTerraform)
			if err != nil {
				t.Fatal(err)
			}
			wantGuarded := 0 // the functions given the numeric pattern
			for _, fn := range p.Functions {
				if slices.ContainsFunc(fn.Events, func(ev project.EventSource) bool { return strings.Contains(string(ev.Pattern), "numeric") }) {
					wantGuarded++
				}
			}
			if tmpl == "fan-out" && wantGuarded != 1 {
				t.Fatalf("fan-out: %d functions with the numeric pattern, want inventory", wantGuarded)
			}
			compareWithFakes(t, h, prov.Deployer.(*deployer), p, ex, wantGuarded)
		})
	}
}

// tfResource is one resource block of the configuration.
type tfResource struct {
	typ, name string
	body      *hclsyntax.Body
}

func compareWithFakes(t *testing.T, h *harness, d *deployer, p *project.Project, ex *providers.Export, wantGuarded int) {
	t.Helper()
	src := export.Template(ex).Data
	files := map[string][]byte{}
	for _, f := range ex.Files {
		files[f.Path] = f.Data
	}
	ctx := context.Background()
	f, diags := hclparse.NewParser().ParseHCL(src, "main.tf")
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	var res []tfResource
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "resource" {
			res = append(res, tfResource{b.Labels[0], b.Labels[1], b.Body})
		}
	}
	// What Terraform would resolve, from the fakes.
	fnVars := map[string]cty.Value{}
	for _, r := range res {
		if r.typ != "google_cloudfunctions2_function" {
			continue
		}
		name := literal(t, r.body, "name")
		fn, ok := h.fake.Function(d.parent() + "/functions/" + name)
		if !ok {
			t.Errorf("exported function %s was not deployed", name)
			continue
		}
		sc := fn.GetServiceConfig()
		fnVars[r.name] = cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name), "location": cty.StringVal(testRegion),
			"service_config": cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
				"uri": cty.StringVal(sc.GetUri()), "service_account_email": cty.StringVal(sc.GetServiceAccountEmail())})})})
	}
	var topic string
	buckets, objects := map[string]cty.Value{}, map[string]cty.Value{}
	for _, r := range res {
		switch r.typ {
		case "google_pubsub_topic":
			topic = "projects/" + testCloudProject + "/topics/" + literal(t, r.body, "name")
		case "google_storage_bucket":
			buckets[r.name] = cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(literal(t, r.body, "name"))})
		case "google_storage_bucket_object":
			objects[r.name] = cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(literal(t, r.body, "name"))})
		}
	}
	ectx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"google_cloudfunctions2_function": cty.ObjectVal(fnVars),
		"google_pubsub_topic":             cty.ObjectVal(map[string]cty.Value{"bus": cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal(topic)})}),
		"google_storage_bucket":           cty.ObjectVal(buckets),
		"google_storage_bucket_object":    cty.ObjectVal(objects),
		"path":                            cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(".")}),
	}}
	// Each function's bucket object is its zip, the bytes deploy uploaded.
	objectSource := map[string]string{}
	for _, r := range res {
		if r.typ == "google_storage_bucket_object" {
			objectSource[r.name] = flatten(t, r.body, ectx, "")["source"]
		}
	}
	deployed := map[string]bool{}
	for _, fn := range h.fake.Functions() {
		deployed[shortName(fn.Name)] = true
	}
	exported := map[string]bool{}
	subs, guarded := 0, 0
	for _, r := range res {
		a := flatten(t, r.body, ectx, "")
		switch r.typ {
		case "google_cloudfunctions2_function":
			name := a["name"]
			exported[name] = true
			fn, ok := h.fake.Function(d.parent() + "/functions/" + name)
			if !ok {
				continue
			}
			sc := fn.GetServiceConfig()
			want := map[string]string{"name": shortName(fn.Name), "location": testRegion, "description": fn.Description, "labels": jsonOf(fn.Labels),
				"build_config[0].runtime": fn.GetBuildConfig().GetRuntime(), "build_config[0].entry_point": fn.GetBuildConfig().GetEntryPoint(),
				"service_config[0].available_memory": sc.GetAvailableMemory(), "service_config[0].timeout_seconds": fmt.Sprint(sc.GetTimeoutSeconds()),
				"service_config[0].environment_variables": jsonOf(sc.GetEnvironmentVariables())}
			// Unset, Google's default applies (the fake's 100): compared
			// when evcli set it, as deploy's update mask does.
			if fn.Labels[LabelMaxInstance] == "set" {
				want["service_config[0].max_instance_count"] = fmt.Sprint(sc.GetMaxInstanceCount())
			}
			agree(t, r, a, want)
			if fn.Labels[LabelGuard] != "" {
				guarded++
			}
			obj := a["build_config[0].source[0].storage_source[0].object"]
			zip := files[strings.TrimPrefix(objectSource[r.name], "./")]
			if up, ok := h.fake.Source(fn.Name); !ok || !bytes.Equal(up, zip) || !strings.Contains(obj, fn.Labels[LabelSource]) {
				t.Errorf("%s: the exported zip (%d bytes, object %s) is not what deploy uploaded (%d bytes, label %s)", name, len(zip), obj, len(up), fn.Labels[LabelSource])
			}
		case "google_pubsub_subscription":
			subs++
			name := "projects/" + testCloudProject + "/subscriptions/" + a["name"]
			s, err := h.pubsubC.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: name})
			if err != nil {
				t.Errorf("exported subscription %s was not deployed: %v", name, err)
				continue
			}
			oidc := s.GetPushConfig().GetOidcToken()
			agree(t, r, a, map[string]string{"name": shortName(s.Name), "topic": s.Topic, "filter": s.Filter, "labels": jsonOf(s.Labels),
				"ack_deadline_seconds":                               fmt.Sprint(s.AckDeadlineSeconds),
				"retry_policy[0].minimum_backoff":                    durationText(s.GetRetryPolicy().GetMinimumBackoff().AsDuration().Seconds()),
				"retry_policy[0].maximum_backoff":                    durationText(s.GetRetryPolicy().GetMaximumBackoff().AsDuration().Seconds()),
				"push_config[0].push_endpoint":                       s.GetPushConfig().GetPushEndpoint(),
				"push_config[0].oidc_token[0].service_account_email": oidc.GetServiceAccountEmail(),
				"push_config[0].oidc_token[0].audience":              oidc.GetAudience(),
				"push_config[0].no_wrapper[0].write_metadata":        fmt.Sprint(s.GetPushConfig().GetNoWrapper().GetWriteMetadata())})
		case "google_cloud_run_service_iam_member":
			fn, ok := h.fake.Function(d.parent() + "/functions/" + a["service"])
			if !ok {
				t.Errorf("%s: service %q is no deployed function", r.name, a["service"])
				continue
			}
			svc := fn.GetServiceConfig().GetService()
			if shortName(svc) != a["service"] {
				t.Errorf("%s: service %q, the function's is %s", r.name, a["service"], svc)
			}
			pol, err := d.run.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: svc})
			if err != nil || !slices.ContainsFunc(pol.Bindings, func(b *iampb.Binding) bool { return b.Role == a["role"] && slices.Contains(b.Members, a["member"]) }) {
				t.Errorf("%s: %s %s is not bound on %s: %v %v", r.name, a["role"], a["member"], svc, pol, err)
			}
		case "google_firestore_field":
			name := "projects/" + a["project"] + "/databases/" + a["database"] + "/collectionGroups/" + a["collection"] + "/fields/" + a["field"]
			fld, ok := h.fake.FirestoreField(name)
			if !ok || fld.GetTtlConfig() == nil || a["ttl_config[0]"] != "{}" {
				t.Errorf("TTL field %s: deployed %v, exported %v", name, fld, a)
			}
		}
	}
	if !maps.Equal(deployed, exported) {
		t.Errorf("functions deployed %v, exported %v", slices.Sorted(maps.Keys(deployed)), slices.Sorted(maps.Keys(exported)))
	}
	want := 0
	for _, fn := range p.Functions {
		want += len(fn.Events)
	}
	if p.Store.Type == "firestore" {
		want++
	}
	if exp := strings.Count(string(src), `"`+EnvGuardMain+`"`); guarded != exp || guarded != wantGuarded {
		t.Errorf("%d guarded functions deployed, %d exported, want %d", guarded, exp, wantGuarded)
	}
	if subs != want {
		t.Errorf("%d subscriptions exported, want %d", subs, want)
	}
}

// agree compares the exported attributes a with what the fake holds.
func agree(t *testing.T, r tfResource, a, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if a[k] != w {
			t.Errorf("%s.%s.%s: exported %q, deployed %q", r.typ, r.name, k, a[k], w)
		}
	}
}

// flatten evaluates a block's attributes by path (nested blocks by type
// and index); depends_on is left out. Maps are JSON, numbers and bools
// their text.
func flatten(t *testing.T, b *hclsyntax.Body, ectx *hcl.EvalContext, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for n, a := range b.Attributes {
		if n == "depends_on" {
			continue
		}
		v, diags := a.Expr.Value(ectx)
		if diags.HasErrors() {
			t.Fatalf("%s%s: %v", prefix, n, diags)
		}
		out[prefix+n] = ctyText(v)
	}
	idx := map[string]int{}
	for _, blk := range b.Blocks {
		p := fmt.Sprintf("%s%s[%d]", prefix, blk.Type, idx[blk.Type])
		idx[blk.Type]++
		if len(blk.Body.Attributes) == 0 && len(blk.Body.Blocks) == 0 {
			out[p] = "{}"
		}
		maps.Copy(out, flatten(t, blk.Body, ectx, p+"."))
	}
	return out
}

func ctyText(v cty.Value) string {
	switch {
	case v.Type() == cty.String:
		return v.AsString()
	case v.Type() == cty.Number:
		return v.AsBigFloat().Text('f', -1)
	case v.Type() == cty.Bool:
		return fmt.Sprint(v.True())
	case v.Type().IsObjectType() || v.Type().IsMapType():
		m := map[string]string{}
		for k, e := range v.AsValueMap() {
			m[k] = ctyText(e)
		}
		return jsonOf(m)
	}
	return v.GoString()
}

func jsonOf(m map[string]string) string {
	b, _ := json.Marshal(m)
	return string(b)
}

func literal(t *testing.T, b *hclsyntax.Body, name string) string {
	t.Helper()
	a, ok := b.Attributes[name]
	if !ok {
		t.Fatalf("no attribute %s", name)
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || v.Type() != cty.String {
		t.Fatalf("%s is not a literal string: %v", name, diags)
	}
	return v.AsString()
}
