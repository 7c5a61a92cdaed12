package azure

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/eventgrid/armeventgrid/v2"
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

// Exporter writes what the deployer makes as Terraform for the azurerm
// provider, from the deployer's own desired state: each app as appSpec and
// desiredSite build it (names, tags, Flex runtime, instance size, maximum
// instances, app settings), each rule's event subscription as subscription
// builds it (filter, labels, destination, batch and retry settings), the
// store's container as cosmosStore makes it and the writer as storeWriter
// builds it. It needs no credentials and makes no call: a deployer without
// clients.
type Exporter struct {
	d *deployer
	// err is why the settings do not make an export (no subscription,
	// resource group or location: the names carry them).
	err error
	// store is the Cosmos DB store's configuration (nil: none).
	store     *cosmosConfig
	workflows []string
}

// newExporter is the Exporter of the project o describes. c is the
// configuration Open settled (nil offline: the settings are read here,
// without credentials).
func newExporter(c *config, o providers.OpenOptions) *Exporter {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	e := &Exporter{}
	for _, w := range o.Workflows {
		e.workflows = append(e.workflows, w.Name)
	}
	if c == nil {
		c = &config{subscription: o.Subscription, resourceGroup: o.ResourceGroup, location: cmp.Or(o.Location, o.Region), project: o.Project,
			getenv: getenv, guard: getenv(EnvGuard) == "in-function" || o.InFunctionGuard}
		if c.subscription == "" {
			c.subscription = getenv(envSubscription)
		}
		if c.resourceGroup == "" {
			c.resourceGroup = getenv(envResourceGroup)
		}
		if c.location == "" {
			c.location = getenv(envLocation)
		}
		if v := getenv(EnvCosmosEndpoint); v != "" {
			ep, err := parseEndpoint(EnvCosmosEndpoint, v)
			if err != nil {
				e.err = err
			}
			c.cosmos = ep
		}
		c.names = Namer{Subscription: c.subscription, ResourceGroup: c.resourceGroup, Project: o.Project}
	}
	e.d = &deployer{c: c, bus: o.Bus}
	switch {
	case e.err != nil:
	case c.subscription == "":
		e.err = &providers.Error{Code: providers.Unconfigured, Resource: "azure",
			Err:  errors.New("no Azure subscription is set: the exported names (function apps, storage account) carry it"),
			Hint: "set " + envSubscription + " to the subscription id (az account show --query id -o tsv prints the current one)"}
	case c.resourceGroup == "":
		e.err = &providers.Error{Code: providers.Unconfigured, Resource: "azure",
			Err:  errors.New("no resource group is set: the exported names carry it and the resources go in it"),
			Hint: "set " + envResourceGroup + " to the resource group to deploy into"}
	case c.location == "":
		e.err = &providers.Error{Code: providers.Unconfigured, Resource: "azure",
			Err:  errors.New("no location is set to create the resources in"),
			Hint: "set " + envLocation + " (e.g. westeurope) or pass --region"}
	}
	if e.err == nil {
		cfg, ok, err := cosmosConfigFor(o, strings.ReplaceAll(c.cosmos.url, "{name}", c.names.StorageAccount()), nil)
		switch {
		case err != nil && providers.CodeOf(err) == providers.Unconfigured:
			// No account endpoint: deploy then has no store either (the
			// store is Missing), so neither the container nor the writer.
		case err != nil:
			e.err = err
		case ok:
			cfg.defaults()
			e.store = &cfg
		}
	}
	return e
}

// exportApp is one function app of the export with what evcli makes for it.
type exportApp struct {
	FD   providers.FunctionDeployment
	App  string
	Site armappservice.Site
	Subs []exportSub
	// TF is its Terraform name; Zip the bytes deploy would publish.
	TF  string
	Zip []byte
}

// exportSub is one event subscription: its name, topic and the
// subscription deploy would PUT.
type exportSub struct {
	Name, Topic string
	Want        armeventgrid.EventSubscription
}

// Export implements providers.Exporter: Terraform only (CloudFormation and
// SAM are AWS's formats).
func (e *Exporter) Export(ctx context.Context, desired []providers.FunctionDeployment, format string) (*providers.Export, error) {
	if format != providers.FormatTerraform {
		return nil, &providers.Error{Code: providers.Unsupported, Resource: "azure",
			Err:  fmt.Errorf("export --format %s is not available on azure: CloudFormation and SAM are AWS formats", format),
			Hint: "use --format terraform (the azurerm provider), or --provider aws"}
	}
	if len(e.workflows) > 0 {
		return nil, &providers.Error{Code: providers.Unsupported, Resource: "workflows " + strings.Join(e.workflows, ", "),
			Err:  errors.New("this evcli build does not deploy workflows to Azure, so it does not export them either"),
			Hint: "export a project without workflows, or run the workflows on the local provider"}
	}
	if e.err != nil {
		return nil, e.err
	}
	d := e.d
	// The same refusal, with the same places, as deploy's.
	if err := d.CheckRules(desired); err != nil {
		return nil, err
	}
	fds := slices.Clone(desired)
	for _, fd := range fds {
		if isStoreWriter(fd.Name) {
			return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name,
				Err: fmt.Errorf("%s is the name of evcli's event-store writer", fd.Name), Hint: "rename the function"}
		}
	}
	if e.store != nil {
		w, err := storeWriter(*e.store, d.bus)
		if err != nil {
			return nil, err
		}
		fds = append(fds, w.Function)
	}
	slices.SortFunc(fds, func(a, b providers.FunctionDeployment) int { return strings.Compare(a.Name, b.Name) })
	var apps []exportApp
	seen := map[string]bool{}
	for _, fd := range fds {
		if fd.ArtifactPath == "" {
			return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name, Err: errors.New("no artifact to export")}
		}
		spec, err := d.appSpec(fd)
		if err != nil {
			return nil, err
		}
		// The package deploy publishes: with evcli's entrypoint.
		zip, err := d.packageOf(fd, spec.guarded)
		if err != nil {
			return nil, err
		}
		app := d.c.names.App(fd.Name)
		a := exportApp{FD: fd, App: app, Zip: zip, TF: uniqueTF(snakeID(fd.Name), fd.Name, seen)}
		// The published package's hash (and its entrypoint's version), as
		// deploy sets them once OneDeploy took the zip.
		spec.settings[SettingCode] = fd.CodeSha256
		if !isStoreWriter(fd.Name) {
			spec.settings[SettingEntry] = entryTag(spec.guarded)
		}
		// The bus topic's endpoint, as deploy sets it (Terraform's
		// reference to the topic's endpoint), unless the project gives it.
		if _, ok := fd.Env[SettingTopicEndpoint]; !ok {
			spec.settings[SettingTopicEndpoint], spec.settings[settingTopicManaged] = "", "evcli"
		}
		a.Site = d.desiredSite(app, fd, spec.rtName, spec.rtVersion, spec.memory, spec.settings)
		// The app's resource id is Terraform's to know: the subscription's
		// destination refers to it.
		ref := armappservice.Site{ID: to.Ptr("${azurerm_function_app_flex_consumption." + a.TF + ".id}"), Tags: a.Site.Tags}
		for _, r := range fd.Rules {
			s, err := d.subscription(&ref, r)
			if err != nil {
				return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name + " rule " + r.ID, Err: err}
			}
			a.Subs = append(a.Subs, exportSub{Name: d.c.names.EventSubscription(r.ID), Topic: Topic(r.Bus), Want: s})
		}
		apps = append(apps, a)
	}
	return e.terraform(apps)
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

// tfRef is a reference such as azurerm_eventgrid_topic.bus.id.
func tfRef(parts ...string) hclwrite.Tokens {
	tr := hcl.Traversal{hcl.TraverseRoot{Name: parts[0]}}
	for _, p := range parts[1:] {
		tr = append(tr, hcl.TraverseAttr{Name: p})
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

// tfMap is m as an object; a value in refs is that expression instead.
func tfMap(m map[string]string, refs map[string]hclwrite.Tokens) hclwrite.Tokens {
	var attrs []hclwrite.ObjectAttrTokens
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := hclwrite.TokensForValue(cty.StringVal(m[k]))
		if r, ok := refs[k]; ok {
			v = r
		}
		attrs = append(attrs, hclwrite.ObjectAttrTokens{Name: hclwrite.TokensForValue(cty.StringVal(k)), Value: v})
	}
	return hclwrite.TokensForObject(attrs)
}

func tags(t map[string]*string) map[string]string {
	out := map[string]string{}
	for k, v := range t {
		out[k] = str(v)
	}
	return out
}

// tfSecretVar is the variable holding a secret's value.
func tfSecretVar(name string) string { return "secret_" + strings.TrimPrefix(snakeID(name), "fn_") }

// CosmosAccount is the Cosmos DB account name of a document endpoint
// (https://<account>.documents.azure.com:443/): its host's first label.
func CosmosAccount(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	host, _, _ := strings.Cut(u.Hostname(), ".")
	return host
}

// filterTF is the operator of an advanced filter as azurerm's block name:
// StringBeginsWith -> string_begins_with.
func filterTF(op string) string {
	var b strings.Builder
	for i, r := range op {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ctyOf is a filter value as HCL: strings, numbers, bools, lists of them
// (a NumberInRange pair).
func ctyOf(v any) (cty.Value, error) {
	switch v := v.(type) {
	case string:
		return cty.StringVal(v), nil
	case bool:
		return cty.BoolVal(v), nil
	case json.Number:
		return cty.ParseNumberVal(v.String())
	case float64:
		return cty.NumberFloatVal(v), nil
	case []any:
		var vals []cty.Value
		for _, e := range v {
			c, err := ctyOf(e)
			if err != nil {
				return cty.NilVal, err
			}
			vals = append(vals, c)
		}
		if len(vals) == 0 {
			return cty.EmptyTupleVal, nil
		}
		return cty.TupleVal(vals), nil
	}
	return cty.NilVal, fmt.Errorf("filter value %v (%T) has no HCL form", v, v)
}

// filterOf is the filter deploy sends, in the REST API's JSON shape.
func filterOf(s armeventgrid.EventSubscription) (Filter, error) {
	var f Filter
	b, err := json.Marshal(s.Properties.Filter)
	if err != nil {
		return f, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return f, dec.Decode(&f)
}

func (e *Exporter) terraform(apps []exportApp) (*providers.Export, error) {
	d := e.d
	c := d.c
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	root.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(fmt.Sprintf(
		"# evcli project %s (Azure subscription %s, resource group %s, %s): written by evcli export from evcli.yaml; regenerate it rather than edit it.\n",
		c.project, c.subscription, c.resourceGroup, c.location))}})
	tf := root.AppendNewBlock("terraform", nil).Body()
	tf.AppendNewBlock("required_providers", nil).Body().SetAttributeRaw("azurerm", hclwrite.TokensForObject([]hclwrite.ObjectAttrTokens{
		{Name: hclwrite.TokensForIdentifier("source"), Value: hclwrite.TokensForValue(cty.StringVal("hashicorp/azurerm"))},
		// azurerm_function_app_flex_consumption is 4.x's.
		{Name: hclwrite.TokensForIdentifier("version"), Value: hclwrite.TokensForValue(cty.StringVal(">= 4.21"))},
	}))
	root.AppendNewline()
	pb := root.AppendNewBlock("provider", []string{"azurerm"}).Body()
	pb.AppendNewBlock("features", nil)
	pb.SetAttributeValue("subscription_id", cty.StringVal(c.subscription))

	out := &providers.Export{Format: providers.FormatTerraform, Files: []providers.ExportFile{{Path: TFTemplateFile, Template: true}}}

	// Secrets are variables, never values in the configuration.
	secrets := map[string]bool{}
	for _, a := range apps {
		for _, s := range a.FD.SecretNames {
			secrets[s] = true
		}
	}
	for _, s := range slices.Sorted(maps.Keys(secrets)) {
		root.AppendNewline()
		v := root.AppendNewBlock("variable", []string{tfSecretVar(s)}).Body()
		v.SetAttributeRaw("type", hclwrite.TokensForIdentifier("string"))
		v.SetAttributeValue("description", cty.StringVal("the value of secret "+s+" (never written to this file)"))
		v.SetAttributeValue("sensitive", cty.True)
	}

	// The resource group is the user's: deploy deploys into it and never
	// creates it.
	rgName := tfRef("data", "azurerm_resource_group", "project", "name")
	root.AppendNewline()
	root.AppendNewBlock("data", []string{"azurerm_resource_group", "project"}).Body().SetAttributeValue("name", cty.StringVal(c.resourceGroup))

	projectTag := map[string]string{TagProject: c.project}
	root.AppendNewline()
	sb := root.AppendNewBlock("resource", []string{"azurerm_storage_account", "project"}).Body()
	sb.SetAttributeValue("name", cty.StringVal(c.names.StorageAccount()))
	sb.SetAttributeRaw("resource_group_name", rgName)
	sb.SetAttributeValue("location", cty.StringVal(c.location))
	sb.SetAttributeValue("account_kind", cty.StringVal("StorageV2"))
	sb.SetAttributeValue("account_tier", cty.StringVal("Standard"))
	sb.SetAttributeValue("account_replication_type", cty.StringVal("LRS"))
	sb.SetAttributeValue("min_tls_version", cty.StringVal("TLS1_2"))
	sb.SetAttributeValue("allow_nested_items_to_be_public", cty.False)
	sb.SetAttributeValue("https_traffic_only_enabled", cty.True)
	sb.SetAttributeRaw("tags", tfMap(projectTag, nil))

	// The project's Log Analytics workspace and its workspace-based
	// Application Insights component, as deploy creates them.
	ws, ins := workspaceBody(c), insightsBody(c, "")
	root.AppendNewline()
	wb := root.AppendNewBlock("resource", []string{"azurerm_log_analytics_workspace", "project"}).Body()
	wb.SetAttributeValue("name", cty.StringVal(c.names.Workspace()))
	wb.SetAttributeRaw("resource_group_name", rgName)
	wb.SetAttributeValue("location", cty.StringVal(c.location))
	wb.SetAttributeValue("sku", cty.StringVal(ws.Properties.SKU.Name))
	wb.SetAttributeValue("retention_in_days", cty.NumberIntVal(int64(ws.Properties.RetentionInDays)))
	wb.SetAttributeRaw("tags", tfMap(ws.Tags, nil))
	root.AppendNewline()
	ib := root.AppendNewBlock("resource", []string{"azurerm_application_insights", "project"}).Body()
	ib.SetAttributeValue("name", cty.StringVal(c.names.Insights()))
	ib.SetAttributeRaw("resource_group_name", rgName)
	ib.SetAttributeValue("location", cty.StringVal(c.location))
	ib.SetAttributeValue("application_type", cty.StringVal(ins.Properties.ApplicationType))
	ib.SetAttributeRaw("workspace_id", tfRef("azurerm_log_analytics_workspace", "project", "id"))
	ib.SetAttributeRaw("tags", tfMap(ins.Tags, nil))

	topic := Topic(d.bus)
	root.AppendNewline()
	tb := root.AppendNewBlock("resource", []string{"azurerm_eventgrid_topic", "bus"}).Body()
	tb.SetAttributeValue("name", cty.StringVal(topic))
	tb.SetAttributeRaw("resource_group_name", rgName)
	tb.SetAttributeValue("location", cty.StringVal(c.location))
	tb.SetAttributeValue("input_schema", cty.StringVal(string(armeventgrid.InputSchemaCloudEventSchemaV10)))
	tb.SetAttributeRaw("tags", tfMap(map[string]string{TagBus: d.bus}, nil))

	if s := e.store; s != nil {
		// The account is the user's (EVCLI_AZURE_COSMOS_ENDPOINT); deploy
		// makes the database and the container in it.
		acct := tfRef("data", "azurerm_cosmosdb_account", "store", "name")
		acctRG := tfRef("data", "azurerm_cosmosdb_account", "store", "resource_group_name")
		root.AppendNewline()
		ab := root.AppendNewBlock("data", []string{"azurerm_cosmosdb_account", "store"}).Body()
		// The account deploy assigns the writer's role on
		// (EVCLI_AZURE_COSMOS_ACCOUNT, else the endpoint's host).
		if id := e.cosmosAccountID(); id != "" {
			ab.SetAttributeValue("name", cty.StringVal(lastPathSegment(id)))
			ab.SetAttributeValue("resource_group_name", cty.StringVal(resourceGroupOf(id)))
		} else {
			ab.SetAttributeValue("name", cty.StringVal(CosmosAccount(s.Endpoint)))
			ab.SetAttributeRaw("resource_group_name", rgName)
		}
		root.AppendNewline()
		db := root.AppendNewBlock("resource", []string{"azurerm_cosmosdb_sql_database", "store"}).Body()
		db.SetAttributeValue("name", cty.StringVal(s.Database))
		db.SetAttributeRaw("resource_group_name", acctRG)
		db.SetAttributeRaw("account_name", acct)
		root.AppendNewline()
		cb := root.AppendNewBlock("resource", []string{"azurerm_cosmosdb_sql_container", "store"}).Body()
		cb.SetAttributeValue("name", cty.StringVal(s.Container))
		cb.SetAttributeRaw("resource_group_name", acctRG)
		cb.SetAttributeRaw("account_name", acct)
		cb.SetAttributeRaw("database_name", tfRef("azurerm_cosmosdb_sql_database", "store", "name"))
		cb.SetAttributeValue("partition_key_paths", cty.TupleVal([]cty.Value{cty.StringVal("/" + s.Keys.Aggregate)}))
		if ttl := (&cosmosStore{cfg: *s}).defaultTTL(); ttl != nil {
			cb.SetAttributeValue("default_ttl", cty.NumberIntVal(int64(*ttl)))
		}
	}

	for _, a := range apps {
		fd, id, site := a.FD, a.TF, a.Site
		sum := sha256.Sum256(a.Zip)
		path := artifactDir + "/" + fd.Name + "-" + hex.EncodeToString(sum[:6]) + ".zip"
		out.Files = append(out.Files, providers.ExportFile{Path: path, Data: a.Zip})
		p := site.Properties
		fc := p.FunctionAppConfig

		root.AppendNewline()
		cb := root.AppendNewBlock("resource", []string{"azurerm_storage_container", id}).Body()
		cb.SetAttributeValue("name", cty.StringVal(Container(a.App)))
		cb.SetAttributeRaw("storage_account_id", tfRef("azurerm_storage_account", "project", "id"))
		cb.SetAttributeValue("container_access_type", cty.StringVal("private"))

		// Flex Consumption hosts one app per plan: the plan has the app's name.
		root.AppendNewline()
		pl := root.AppendNewBlock("resource", []string{"azurerm_service_plan", id}).Body()
		pl.SetAttributeValue("name", cty.StringVal(a.App))
		pl.SetAttributeRaw("resource_group_name", rgName)
		pl.SetAttributeValue("location", cty.StringVal(c.location))
		pl.SetAttributeValue("os_type", cty.StringVal("Linux"))
		pl.SetAttributeValue("sku_name", cty.StringVal("FC1"))
		pl.SetAttributeRaw("tags", tfMap(projectTag, nil))

		root.AppendNewline()
		fb := root.AppendNewBlock("resource", []string{"azurerm_function_app_flex_consumption", id}).Body()
		fb.SetAttributeValue("name", cty.StringVal(a.App))
		fb.SetAttributeRaw("resource_group_name", rgName)
		fb.SetAttributeValue("location", cty.StringVal(c.location))
		fb.SetAttributeRaw("service_plan_id", tfRef("azurerm_service_plan", id, "id"))
		fb.SetAttributeValue("https_only", cty.BoolVal(p.HTTPSOnly != nil && *p.HTTPSOnly))
		// The deployment container, reached with the storage account's
		// connection string (DEPLOYMENT_STORAGE_CONNECTION_STRING), and the
		// host storage (AzureWebJobsStorage): the same account as deploy's.
		fb.SetAttributeValue("storage_container_type", cty.StringVal("blobContainer"))
		fb.SetAttributeRaw("storage_container_endpoint", tfTemplate("${azurerm_storage_account.project.primary_blob_endpoint}${azurerm_storage_container."+id+".name}"))
		fb.SetAttributeValue("storage_authentication_type", cty.StringVal(string(*fc.Deployment.Storage.Authentication.Type)))
		fb.SetAttributeRaw("storage_access_key", tfRef("azurerm_storage_account", "project", "primary_connection_string"))
		fb.SetAttributeRaw("function_app_storage_account_name", tfRef("azurerm_storage_account", "project", "name"))
		fb.SetAttributeRaw("function_app_storage_account_access_key", tfRef("azurerm_storage_account", "project", "primary_access_key"))
		fb.SetAttributeValue("runtime_name", cty.StringVal(string(*fc.Runtime.Name)))
		fb.SetAttributeValue("runtime_version", cty.StringVal(str(fc.Runtime.Version)))
		fb.SetAttributeValue("instance_memory_in_mb", cty.NumberIntVal(int64(*fc.ScaleAndConcurrency.InstanceMemoryMB)))
		fb.SetAttributeValue("maximum_instance_count", cty.NumberIntVal(int64(*fc.ScaleAndConcurrency.MaximumInstanceCount)))
		settings := map[string]string{}
		for _, nv := range p.SiteConfig.AppSettings {
			settings[str(nv.Name)] = str(nv.Value)
		}
		refs := map[string]hclwrite.Tokens{}
		if settings[settingTopicManaged] != "" {
			refs[SettingTopicEndpoint] = tfRef("azurerm_eventgrid_topic", "bus", "endpoint")
		}
		for _, s := range fd.SecretNames {
			if _, ok := settings[s]; ok {
				refs[s] = tfRef("var", tfSecretVar(s))
			}
		}
		fb.SetAttributeRaw("app_settings", tfMap(settings, refs))
		fb.SetAttributeRaw("zip_deploy_file", tfTemplate("${path.module}/"+path))
		fb.SetAttributeRaw("tags", tfMap(tags(site.Tags), nil))
		if id := site.Identity; id != nil && id.Type != nil {
			fb.AppendNewBlock("identity", nil).Body().SetAttributeValue("type", cty.StringVal(string(*id.Type)))
		}
		// APPLICATIONINSIGHTS_CONNECTION_STRING, the component's.
		fb.AppendNewBlock("site_config", nil).Body().SetAttributeRaw("application_insights_connection_string",
			tfRef("azurerm_application_insights", "project", "connection_string"))

		// The app's identity may publish to the bus's topic (EventGrid
		// Data Sender), under deploy's name for the assignment: the
		// name-based GUID of the scope, the principal and the role.
		local := "publish_role_" + id
		principalRef := "azurerm_function_app_flex_consumption." + id + ".identity[0].principal_id"
		root.AppendNewline()
		root.AppendNewBlock("locals", nil).Body().SetAttributeRaw(local, exprTokens(
			`sha256("${lower(azurerm_eventgrid_topic.bus.id)}\u0000${lower(`+principalRef+`)}\u0000`+EventGridDataSender+`")`))
		root.AppendNewline()
		ra := root.AppendNewBlock("resource", []string{"azurerm_role_assignment", id + "_publish"}).Body()
		l := "local." + local
		ra.SetAttributeRaw("name", exprTokens(`format("%s-%s-5%s-%s%s-%s", substr(`+l+`, 0, 8), substr(`+l+`, 8, 4), `+
			`substr(`+l+`, 13, 3), `+variantNibbles+`[substr(`+l+`, 16, 1)], `+
			`substr(`+l+`, 17, 3), substr(`+l+`, 20, 12))`))
		ra.SetAttributeRaw("scope", tfRef("azurerm_eventgrid_topic", "bus", "id"))
		ra.SetAttributeValue("role_definition_id", cty.StringVal(d.senderRoleID()))
		ra.SetAttributeRaw("principal_id", exprTokens(principalRef))
		ra.SetAttributeValue("principal_type", cty.StringVal("ServicePrincipal"))

		if isStoreWriter(fd.Name) && e.store != nil && e.cosmosAccountID() != "" {
			// The writer's identity may read and write the store's
			// database (Cosmos DB Built-in Data Contributor), as deploy
			// assigns it; azurerm names the assignment itself.
			w, err := storeWriter(*e.store, d.bus)
			if err != nil {
				return nil, err
			}
			// The assignment's name is deploy's: the name-based GUID of
			// the scope, the principal and the role (roleAssignmentName),
			// so deploy reads the assignment Terraform made as its own.
			scope := "${data.azurerm_cosmosdb_account.store.id}/dbs/${azurerm_cosmosdb_sql_database.store.name}"
			principal := "azurerm_function_app_flex_consumption." + id + ".identity[0].principal_id"
			root.AppendNewline()
			root.AppendNewBlock("locals", nil).Body().SetAttributeRaw("store_writer_role", exprTokens(
				`sha256("${lower("`+scope+`")}\u0000${lower(`+principal+`)}\u0000`+w.CosmosRole+`")`))
			root.AppendNewline()
			rb := root.AppendNewBlock("resource", []string{"azurerm_cosmosdb_sql_role_assignment", "store_writer"}).Body()
			rb.SetAttributeRaw("name", exprTokens(`format("%s-%s-5%s-%s%s-%s", substr(local.store_writer_role, 0, 8), substr(local.store_writer_role, 8, 4), `+
				`substr(local.store_writer_role, 13, 3), `+variantNibbles+`[substr(local.store_writer_role, 16, 1)], `+
				`substr(local.store_writer_role, 17, 3), substr(local.store_writer_role, 20, 12))`))
			rb.SetAttributeRaw("resource_group_name", tfRef("data", "azurerm_cosmosdb_account", "store", "resource_group_name"))
			rb.SetAttributeRaw("account_name", tfRef("data", "azurerm_cosmosdb_account", "store", "name"))
			rb.SetAttributeRaw("role_definition_id", tfTemplate("${data.azurerm_cosmosdb_account.store.id}/sqlRoleDefinitions/"+w.CosmosRole))
			rb.SetAttributeRaw("scope", tfTemplate("${data.azurerm_cosmosdb_account.store.id}/dbs/${azurerm_cosmosdb_sql_database.store.name}"))
			rb.SetAttributeRaw("principal_id", hclwrite.TokensForTraversal(hcl.Traversal{hcl.TraverseRoot{Name: "azurerm_function_app_flex_consumption"},
				hcl.TraverseAttr{Name: id}, hcl.TraverseAttr{Name: "identity"}, hcl.TraverseIndex{Key: cty.NumberIntVal(0)}, hcl.TraverseAttr{Name: "principal_id"}}))
		}
		for i, s := range a.Subs {
			if err := e.subscriptionTF(root, fmt.Sprintf("%s_%d", id, i), s, topic); err != nil {
				return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name + " event subscription " + s.Name, Err: err}
			}
		}
	}
	out.Files[0].Data = hclwrite.Format(bytes.TrimLeft(f.Bytes(), "\n"))
	out.Next = []string{"terraform -chdir=DIR init", "terraform -chdir=DIR apply"}
	if len(secrets) > 0 {
		out.Next = append(out.Next, "(pass each secret as -var secret_NAME=value or TF_VAR_secret_NAME; its value is never written to the configuration)")
	}
	return out, nil
}

// subscriptionTF writes one event subscription as deploy PUTs it.
func (e *Exporter) subscriptionTF(root *hclwrite.Body, sid string, s exportSub, topic string) error {
	p := s.Want.Properties
	filter, err := filterOf(s.Want)
	if err != nil {
		return err
	}
	dest, ok := p.Destination.(*armeventgrid.AzureFunctionEventSubscriptionDestination)
	if !ok || dest.Properties == nil {
		return errors.New("the destination is not a function")
	}
	root.AppendNewline()
	rb := root.AppendNewBlock("resource", []string{"azurerm_eventgrid_event_subscription", sid}).Body()
	rb.SetAttributeValue("name", cty.StringVal(s.Name))
	if s.Topic == topic {
		rb.SetAttributeRaw("scope", tfRef("azurerm_eventgrid_topic", "bus", "id"))
	} else {
		// Another project's bus: its topic is that project's.
		rb.SetAttributeValue("scope", cty.StringVal(e.d.topicScope(s.Topic)))
	}
	rb.SetAttributeValue("event_delivery_schema", cty.StringVal(str(p.EventDeliverySchema)))
	var labels []cty.Value
	for _, l := range p.Labels {
		labels = append(labels, cty.StringVal(str(l)))
	}
	rb.SetAttributeValue("labels", cty.TupleVal(labels))
	if len(filter.IncludedEventTypes) > 0 {
		var types []cty.Value
		for _, t := range filter.IncludedEventTypes {
			types = append(types, cty.StringVal(t))
		}
		rb.SetAttributeValue("included_event_types", cty.TupleVal(types))
	}
	rb.SetAttributeValue("advanced_filtering_on_arrays_enabled", cty.BoolVal(filter.EnableAdvancedFilteringOnArrays))
	fe := rb.AppendNewBlock("azure_function_endpoint", nil).Body()
	fe.SetAttributeRaw("function_id", tfTemplate(str(dest.Properties.ResourceID)))
	fe.SetAttributeValue("max_events_per_batch", cty.NumberIntVal(int64(*dest.Properties.MaxEventsPerBatch)))
	fe.SetAttributeValue("preferred_batch_size_in_kilobytes", cty.NumberIntVal(int64(*dest.Properties.PreferredBatchSizeInKilobytes)))
	rp := rb.AppendNewBlock("retry_policy", nil).Body()
	rp.SetAttributeValue("max_delivery_attempts", cty.NumberIntVal(int64(*p.RetryPolicy.MaxDeliveryAttempts)))
	rp.SetAttributeValue("event_time_to_live", cty.NumberIntVal(int64(*p.RetryPolicy.EventTimeToLiveInMinutes)))
	if len(filter.AdvancedFilters) > 0 {
		ab := rb.AppendNewBlock("advanced_filter", nil).Body()
		for _, af := range filter.AdvancedFilters {
			ob := ab.AppendNewBlock(filterTF(af.OperatorType), nil).Body()
			ob.SetAttributeValue("key", cty.StringVal(af.Key))
			switch {
			case af.Values != nil:
				v, err := ctyOf(af.Values)
				if err != nil {
					return err
				}
				ob.SetAttributeValue("values", v)
			case af.Value != nil:
				v, err := ctyOf(af.Value)
				if err != nil {
					return err
				}
				ob.SetAttributeValue("value", v)
			}
		}
	}
	return nil
}

// cosmosAccountID is the store's account as deploy's role assignment
// names it, "" without a store or for an emulator.
func (e *Exporter) cosmosAccountID() string {
	if e.store == nil {
		return ""
	}
	return cosmosAccountID(e.d.c.getenv(EnvCosmosAccount), e.store.Endpoint, e.d.groupPath())
}

// variantNibbles maps a hex digit d to (d & 3) | 8, the RFC 4122 variant
// roleAssignmentName sets, as an HCL object (Terraform has no bit
// operators).
const variantNibbles = `{"0" = "8", "1" = "9", "2" = "a", "3" = "b", "4" = "8", "5" = "9", "6" = "a", "7" = "b", ` +
	`"8" = "8", "9" = "9", "a" = "a", "b" = "b", "c" = "8", "d" = "9", "e" = "a", "f" = "b"}`

// exprTokens is an HCL expression written as source.
func exprTokens(src string) hclwrite.Tokens {
	f, diags := hclwrite.ParseConfig([]byte("x = "+src+"\n"), "expr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		panic(fmt.Sprintf("export: %s: %v", src, diags))
	}
	return f.Body().GetAttribute("x").Expr().BuildTokens(nil)
}

// resourceGroupOf is the resource group of an ARM id.
func resourceGroupOf(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "resourceGroups") {
			return parts[i+1]
		}
	}
	return ""
}

var _ providers.Exporter = (*Exporter)(nil)
