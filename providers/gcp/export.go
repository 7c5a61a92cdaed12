package gcp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/evcli/evcli/providers"
)

// TFTemplateFile is the Terraform configuration's file name in the output
// directory; the zips go under artifactDir.
const (
	TFTemplateFile = "main.tf"
	artifactDir    = "artifacts"
)

// Exporter writes what the deployer makes as Terraform for the google
// provider, from the deployer's own desired state: the function as
// desired() builds it (names, labels with the source hash, memory,
// timeout, max instances, environment with the rules), each rule's push
// subscription as ruleSubscription() builds it, the store writer as
// storeWriter() builds it and the TTL field as ttlField() names it. It
// needs no credentials and makes no call: a deployer without clients.
type Exporter struct {
	d         *deployer
	workflows []string
}

// newExporter is the Exporter of the project o describes, in c's Google
// Cloud project and region.
func newExporter(c *config, o providers.OpenOptions) *Exporter {
	e := &Exporter{d: &deployer{c: c, project: o.Project, store: o.Store,
		guard: o.InFunctionGuard || c.getenv(EnvGuard) == "in-function",
		bus:   &pubSub{c: c, project: o.Project, bus: o.Bus}}}
	for _, w := range o.Workflows {
		e.workflows = append(e.workflows, w.Name)
	}
	return e
}

// exportFunction is one function of the export with what evcli makes for it.
type exportFunction struct {
	FD   providers.FunctionDeployment
	Want *functionspb.Function
	Subs []*pubsubpb.Subscription
	// TF is its Terraform name; Zip the bytes deploy would upload.
	TF  string
	Zip []byte
}

// Export implements providers.Exporter: Terraform only (CloudFormation and
// SAM are AWS's formats).
func (e *Exporter) Export(ctx context.Context, desired []providers.FunctionDeployment, format string) (*providers.Export, error) {
	if format != providers.FormatTerraform {
		return nil, &providers.Error{Code: providers.Unsupported, Resource: "gcp",
			Err:  fmt.Errorf("export --format %s is not available on gcp: CloudFormation and SAM are AWS formats", format),
			Hint: "use --format terraform (the google provider), or --provider aws"}
	}
	if len(e.workflows) > 0 {
		return nil, &providers.Error{Code: providers.Unsupported, Resource: "workflows " + strings.Join(e.workflows, ", "),
			Err:  errors.New("this evcli build does not deploy workflows to Google Cloud Workflows, so it does not export them either"),
			Hint: "export a project without workflows, or run the workflows on the local provider"}
	}
	d := e.d
	// The same refusal, with the same places, as deploy's.
	if err := d.CheckRules(desired); err != nil {
		return nil, err
	}
	fds := slices.Clone(desired)
	w, err := d.storeWriter()
	if err != nil {
		return nil, err
	}
	if w != nil {
		fds = append(fds, *w)
	}
	slices.SortFunc(fds, func(a, b providers.FunctionDeployment) int { return strings.Compare(a.Name, b.Name) })
	var fns []exportFunction
	seen := map[string]bool{}
	for _, fd := range fds {
		if fd.ArtifactPath == "" {
			return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name, Err: errors.New("no artifact to export")}
		}
		if len(fd.SecretNames) > 0 {
			// deploy makes Secret Manager secrets (secrets.go); the
			// Terraform for them (and their values as sensitive
			// variables) is not written yet: refused rather than dropped.
			return nil, &providers.Error{Code: providers.Unsupported, Resource: "function " + fd.Name,
				Err:  errors.New("export does not write the Secret Manager secrets of a gcp function yet"),
				Hint: "deploy it with evcli deploy --provider gcp (which does), or export a project without secrets"}
		}
		want, err := d.desired(fd)
		if err != nil {
			return nil, err
		}
		zip, err := d.readArtifact(fd)
		if err != nil {
			return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name, Err: err}
		}
		f := exportFunction{FD: fd, Want: want, Zip: zip, TF: uniqueTF(snakeID(fd.Name), fd.Name, seen)}
		for _, r := range fd.Rules {
			// The endpoint and identity are the function's, known once
			// Terraform made it: the configuration refers to them.
			s, err := d.ruleSubscription(fd, r, "", "")
			if err != nil {
				return nil, err
			}
			f.Subs = append(f.Subs, s)
		}
		fns = append(fns, f)
	}
	return e.terraform(fns)
}

// SourceBucket is the Cloud Storage bucket the exported configuration
// uploads the zips to (deploy uses Cloud Functions' own upload URL and
// needs none): bucket names are global, so it carries the Google Cloud
// project and evcli's project.
func SourceBucket(cloudProject, project string) string {
	return idName(cloudProject+"-evcli-"+project+"-sources", 63)
}

func uniqueTF(id, name string, seen map[string]bool) string {
	if seen[id] {
		sum := sha256.Sum256([]byte(name))
		id += hex.EncodeToString(sum[:3])
	}
	seen[id] = true
	return id
}

// snakeID is name as a Terraform name: "order-created" -> "order_created".
func snakeID(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "fn_" + s
	}
	return s
}

// tfRef is a reference such as google_pubsub_topic.bus.id; an int part is
// an index (service_config[0]).
func tfRef(parts ...any) hclwrite.Tokens {
	tr := hcl.Traversal{hcl.TraverseRoot{Name: parts[0].(string)}}
	for _, p := range parts[1:] {
		switch p := p.(type) {
		case string:
			tr = append(tr, hcl.TraverseAttr{Name: p})
		case int:
			tr = append(tr, hcl.TraverseIndex{Key: cty.NumberIntVal(int64(p))})
		}
	}
	return hclwrite.TokensForTraversal(tr)
}

// tfTemplate is s as an HCL string whose ${...} are interpolations
// (TokensForValue escapes them as $${).
func tfTemplate(s string) hclwrite.Tokens {
	toks := hclwrite.TokensForValue(cty.StringVal(s))
	for _, t := range toks {
		t.Bytes = bytes.ReplaceAll(t.Bytes, []byte("$${"), []byte("${"))
	}
	return toks
}

func tfStrings(m map[string]string) hclwrite.Tokens {
	var attrs []hclwrite.ObjectAttrTokens
	for _, k := range slices.Sorted(maps.Keys(m)) {
		attrs = append(attrs, hclwrite.ObjectAttrTokens{Name: hclwrite.TokensForValue(cty.StringVal(k)), Value: hclwrite.TokensForValue(cty.StringVal(m[k]))})
	}
	return hclwrite.TokensForObject(attrs)
}

func (e *Exporter) terraform(fns []exportFunction) (*providers.Export, error) {
	d := e.d
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	root.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(fmt.Sprintf(
		"# evcli project %s (Google Cloud project %s, %s): written by evcli export from evcli.yaml; regenerate it rather than edit it.\n",
		d.project, d.c.cloudProject, d.c.region))}})
	tf := root.AppendNewBlock("terraform", nil).Body()
	tf.AppendNewBlock("required_providers", nil).Body().SetAttributeRaw("google", hclwrite.TokensForObject([]hclwrite.ObjectAttrTokens{
		{Name: hclwrite.TokensForIdentifier("source"), Value: hclwrite.TokensForValue(cty.StringVal("hashicorp/google"))},
		{Name: hclwrite.TokensForIdentifier("version"), Value: hclwrite.TokensForValue(cty.StringVal(">= 5.0"))},
	}))
	root.AppendNewline()
	pb := root.AppendNewBlock("provider", []string{"google"}).Body()
	pb.SetAttributeValue("project", cty.StringVal(d.c.cloudProject))
	pb.SetAttributeValue("region", cty.StringVal(d.c.region))
	// No goog-terraform-provisioned label: deploy compares a function's
	// labels whole, and the labels are evcli's.
	pb.SetAttributeValue("add_terraform_attribution_label", cty.False)

	out := &providers.Export{Format: providers.FormatTerraform, Files: []providers.ExportFile{{Path: TFTemplateFile, Template: true}}}
	projectLabel := map[string]string{LabelProject: LabelValue(d.project)}

	// The project's topic (deploy creates it when missing).
	topic := d.bus.topicName("")
	root.AppendNewline()
	tb := root.AppendNewBlock("resource", []string{"google_pubsub_topic", "bus"}).Body()
	tb.SetAttributeValue("name", cty.StringVal(shortName(topic)))
	tb.SetAttributeRaw("labels", tfStrings(projectLabel))

	root.AppendNewline()
	bb := root.AppendNewBlock("resource", []string{"google_storage_bucket", "sources"}).Body()
	bb.SetAttributeValue("name", cty.StringVal(SourceBucket(d.c.cloudProject, d.project)))
	bb.SetAttributeValue("location", cty.StringVal(strings.ToUpper(d.c.region)))
	bb.SetAttributeValue("uniform_bucket_level_access", cty.True)
	bb.SetAttributeRaw("labels", tfStrings(projectLabel))

	if d.hasStore() && d.store.TTLDays > 0 {
		keys := storeKeys(d.store.Keys)
		root.AppendNewline()
		fb := root.AppendNewBlock("resource", []string{"google_firestore_field", "ttl"}).Body()
		fb.SetAttributeValue("project", cty.StringVal(d.c.cloudProject))
		fb.SetAttributeValue("database", cty.StringVal("(default)"))
		fb.SetAttributeValue("collection", cty.StringVal(d.collection()))
		fb.SetAttributeValue("field", cty.StringVal(keys.TTL))
		// An empty ttl_config turns the policy on, as deploy's UpdateField does.
		fb.AppendNewBlock("ttl_config", nil)
	}

	for _, fn := range fns {
		fd, id, want := fn.FD, fn.TF, fn.Want
		fnRef := func(parts ...any) hclwrite.Tokens {
			return tfRef(append([]any{"google_cloudfunctions2_function", id}, parts...)...)
		}
		path := artifactDir + "/" + fd.Name + ".zip"
		out.Files = append(out.Files, providers.ExportFile{Path: path, Data: fn.Zip})

		root.AppendNewline()
		ob := root.AppendNewBlock("resource", []string{"google_storage_bucket_object", id}).Body()
		// The object's name carries the source hash: new code, new object,
		// a new build.
		ob.SetAttributeValue("name", cty.StringVal(FunctionID(d.project, fd.Name)+"/"+want.Labels[LabelSource]+".zip"))
		ob.SetAttributeRaw("bucket", tfRef("google_storage_bucket", "sources", "name"))
		ob.SetAttributeRaw("source", tfTemplate("${path.module}/"+path))

		root.AppendNewline()
		fb := root.AppendNewBlock("resource", []string{"google_cloudfunctions2_function", id}).Body()
		fb.SetAttributeValue("name", cty.StringVal(shortName(want.Name)))
		fb.SetAttributeValue("location", cty.StringVal(d.c.region))
		fb.SetAttributeValue("description", cty.StringVal(want.Description))
		fb.SetAttributeRaw("labels", tfStrings(want.Labels))
		build := fb.AppendNewBlock("build_config", nil).Body()
		build.SetAttributeValue("runtime", cty.StringVal(want.BuildConfig.Runtime))
		build.SetAttributeValue("entry_point", cty.StringVal(want.BuildConfig.EntryPoint))
		ss := build.AppendNewBlock("source", nil).Body().AppendNewBlock("storage_source", nil).Body()
		ss.SetAttributeRaw("bucket", tfRef("google_storage_bucket", "sources", "name"))
		ss.SetAttributeRaw("object", tfRef("google_storage_bucket_object", id, "name"))
		sc := want.ServiceConfig
		sb := fb.AppendNewBlock("service_config", nil).Body()
		sb.SetAttributeValue("available_memory", cty.StringVal(sc.AvailableMemory))
		sb.SetAttributeValue("timeout_seconds", cty.NumberIntVal(int64(sc.TimeoutSeconds)))
		if sc.MaxInstanceCount > 0 {
			sb.SetAttributeValue("max_instance_count", cty.NumberIntVal(int64(sc.MaxInstanceCount)))
		}
		if sc.ServiceAccountEmail != "" {
			sb.SetAttributeValue("service_account_email", cty.StringVal(sc.ServiceAccountEmail))
		}
		sb.SetAttributeRaw("environment_variables", tfStrings(sc.EnvironmentVariables))

		if len(fn.Subs) == 0 {
			continue
		}
		// The push identity (the function's service account) may invoke
		// the function's Cloud Run service.
		invoker := id + "_invoker"
		root.AppendNewline()
		ib := root.AppendNewBlock("resource", []string{"google_cloud_run_service_iam_member", invoker}).Body()
		ib.SetAttributeRaw("location", fnRef("location"))
		ib.SetAttributeRaw("service", fnRef("name"))
		ib.SetAttributeValue("role", cty.StringVal(InvokerRole))
		ib.SetAttributeRaw("member", tfTemplate("serviceAccount:${google_cloudfunctions2_function."+id+".service_config[0].service_account_email}"))

		for i, s := range fn.Subs {
			sid := fmt.Sprintf("%s_%d", id, i)
			root.AppendNewline()
			rb := root.AppendNewBlock("resource", []string{"google_pubsub_subscription", sid}).Body()
			rb.SetAttributeValue("name", cty.StringVal(shortName(s.Name)))
			if s.Topic == topic {
				rb.SetAttributeRaw("topic", tfRef("google_pubsub_topic", "bus", "id"))
			} else {
				rb.SetAttributeValue("topic", cty.StringVal(s.Topic))
			}
			rb.SetAttributeValue("filter", cty.StringVal(s.Filter))
			rb.SetAttributeRaw("labels", tfStrings(s.Labels))
			rb.SetAttributeValue("ack_deadline_seconds", cty.NumberIntVal(int64(s.AckDeadlineSeconds)))
			rp := rb.AppendNewBlock("retry_policy", nil).Body()
			rp.SetAttributeValue("minimum_backoff", cty.StringVal(durationText(s.RetryPolicy.MinimumBackoff.AsDuration().Seconds())))
			rp.SetAttributeValue("maximum_backoff", cty.StringVal(durationText(s.RetryPolicy.MaximumBackoff.AsDuration().Seconds())))
			pc := rb.AppendNewBlock("push_config", nil).Body()
			pc.SetAttributeRaw("push_endpoint", fnRef("service_config", 0, "uri"))
			oidc := pc.AppendNewBlock("oidc_token", nil).Body()
			oidc.SetAttributeRaw("service_account_email", fnRef("service_config", 0, "service_account_email"))
			oidc.SetAttributeRaw("audience", fnRef("service_config", 0, "uri"))
			pc.AppendNewBlock("no_wrapper", nil).Body().SetAttributeValue("write_metadata", cty.BoolVal(s.GetPushConfig().GetNoWrapper().GetWriteMetadata()))
			rb.SetAttributeRaw("depends_on", hclwrite.TokensForTuple([]hclwrite.Tokens{tfRef("google_cloud_run_service_iam_member", invoker)}))
		}
	}
	out.Files[0].Data = hclwrite.Format(bytes.TrimLeft(f.Bytes(), "\n"))
	out.Next = []string{"terraform -chdir=DIR init", "terraform -chdir=DIR apply"}
	return out, nil
}

// durationText is seconds as Terraform's google provider writes a
// duration ("10s").
func durationText(seconds float64) string { return fmt.Sprintf("%gs", seconds) }

var _ providers.Exporter = (*Exporter)(nil)

// openOffline is the provider opened with o.Offline: the Exporter alone,
// with no credentials checked and no call made. The Google Cloud project
// and region are still needed: the names, the topic and the store
// writer's environment carry them.
func openOffline(o providers.OpenOptions) (*providers.Provider, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	c := &config{cloudProject: o.CloudProject, region: o.Region, getenv: getenv}
	if c.cloudProject == "" {
		c.cloudProject = getenv(envProject)
	}
	if c.cloudProject == "" {
		return nil, &providers.Error{Code: providers.Unconfigured, Resource: "gcp",
			Err:  errors.New("no Google Cloud project is set: the exported names and the store writer carry it"),
			Hint: "set gcp.project in evcli.yaml, pass --project, or set GOOGLE_CLOUD_PROJECT"}
	}
	if c.region == "" {
		return nil, &providers.Error{Code: providers.Unconfigured, Resource: "gcp",
			Err:  errors.New("no region is set for Cloud Functions"),
			Hint: "pass --region (e.g. europe-west1) or set region in evcli.yaml"}
	}
	p := &providers.Provider{Name: "gcp", Exporter: newExporter(c, o), Missing: map[providers.Ability]string{}}
	for _, a := range providers.Abilities {
		if !p.Has(a) {
			p.Missing[a] = "the provider was opened offline, for export only"
		}
	}
	return p, nil
}
