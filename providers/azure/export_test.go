package azure

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/evcli/evcli/export"
	"github.com/evcli/evcli/internal/awsproject"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

// Tests of the Terraform export for azurerm: per template against a
// golden under testdata/export, parsed back with hclparse and checked
// against evcli.yaml (resource counts, names, each subscription's filter
// against Translate's); --check naming a changed memory; what deploy
// refuses, export refuses. The provider is opened offline: no credentials,
// no fake.

var updateGoldens = flag.Bool("update", false, "rewrite the golden files under testdata/")

const exportCosmos = "https://shop-store.documents.azure.com:443/"

// azProject renders tmpl as project shop on azure: fan-out gets a numeric
// pattern (an Event Grid advanced filter), event-sourcing a Cosmos DB
// store (container shop-events, 30 days).
func azProject(t *testing.T, tmpl string) *project.Project {
	t.Helper()
	dir := awsproject.Render(t, tmpl, "eu-west-1", func(y string) string {
		y = strings.Replace(y, "provider: aws\nregion: eu-west-1\n", "provider: azure\nregion: "+testLocation+"\n", 1)
		y = strings.Replace(y, "      - pattern: {source: [shop.orders], detail-type: [OrderCreated]}\n",
			"      - pattern: {source: [shop.orders], detail-type: [OrderCreated]}\n      - pattern: {source: [shop.orders], detail: {total: [{numeric: [\">\", 100]}]}}\n", 1)
		y = strings.Replace(y, "type: dynamodb", "type: cosmos", 1)
		return strings.Replace(y, ", ttl: expiresAt}", ", ttl: ttl}", 1)
	})
	p, err := project.Load(dir+"/evcli.yaml", project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func storeSpec(p *project.Project) providers.StoreSpec {
	if p.Store.Type != cosmosStoreType {
		return providers.StoreSpec{}
	}
	ttl := p.Store.Keys.TTL
	if ttl == project.DefaultStoreKeys.TTL {
		ttl = "" // Cosmos DB's is "ttl": evcli.yaml's default names DynamoDB's
	}
	return providers.StoreSpec{Type: p.Store.Type, Table: p.Store.Table, TTLDays: p.Store.TTLDays,
		Keys: providers.StoreKeys{Aggregate: p.Store.Keys.Aggregate, Sort: p.Store.Keys.Sort, Version: p.Store.Keys.Version, TTL: ttl}}
}

// offlineExport exports p with the provider opened offline.
func offlineExport(t *testing.T, p *project.Project, env map[string]string) (*providers.Export, error) {
	t.Helper()
	ctx := context.Background()
	if env == nil {
		env = map[string]string{envSubscription: testSubscription, envResourceGroup: testResourceGroup, envLocation: testLocation, EnvCosmosEndpoint: exportCosmos}
	}
	prov, err := Open(ctx, providers.OpenOptions{Project: p.Name, Bus: p.Bus, Store: storeSpec(p), Offline: true, Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if !prov.Has(providers.AbilityExport) || prov.Has(providers.AbilityDeploy) {
		t.Fatalf("offline: export %v, deploy %v", prov.Has(providers.AbilityExport), prov.Has(providers.AbilityDeploy))
	}
	desired, err := export.Desired(ctx, export.Options{Project: p})
	if err != nil {
		t.Fatal(err)
	}
	return prov.Exporter.Export(ctx, desired, providers.FormatTerraform)
}

func assertGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateGoldens {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./providers/azure -run %s -update)", err, t.Name())
	}
	if string(want) != string(got) {
		t.Fatalf("%s differs (run with -update if intended)\n--- got ---\n%s--- want ---\n%s", path, got, want)
	}
}

func TestExportTerraformGoldens(t *testing.T) {
	for _, tmpl := range []string{"fan-out", "event-sourcing", "saga"} {
		t.Run(tmpl, func(t *testing.T) {
			p := azProject(t, tmpl)
			ex, err := offlineExport(t, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			src := export.Template(ex).Data
			assertGolden(t, filepath.Join("testdata", "export", tmpl+".terraform.golden"), src)
			checkTerraform(t, p, ex)
			again, err := offlineExport(t, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(export.Template(again).Data) != string(src) {
				t.Fatal("a second export wrote a different configuration")
			}
		})
	}
}

// tfBlocks are the configuration's resource (and data) blocks by type and
// name.
func tfBlocks(t *testing.T, src []byte) (res, data map[string]map[string]*hclsyntax.Body) {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL(src, TFTemplateFile)
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	res, data = map[string]map[string]*hclsyntax.Body{}, map[string]map[string]*hclsyntax.Body{}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		m := map[string]map[string]*hclsyntax.Body(nil)
		switch b.Type {
		case "resource":
			m = res
		case "data":
			m = data
		default:
			continue
		}
		if m[b.Labels[0]] == nil {
			m[b.Labels[0]] = map[string]*hclsyntax.Body{}
		}
		m[b.Labels[0]][b.Labels[1]] = b.Body
	}
	return res, data
}

// strAttr is a literal string attribute ("" when absent or not literal).
func strAttr(b *hclsyntax.Body, name string) string {
	a, ok := b.Attributes[name]
	if !ok {
		return ""
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

// filterOfTF reads an event subscription's filter back from its block,
// in the REST API's shape (operator StringIn for string_in).
func filterOfTF(t *testing.T, b *hclsyntax.Body, ectx *hcl.EvalContext) Filter {
	t.Helper()
	var f Filter
	val := func(e hclsyntax.Expression) any {
		v, diags := e.Value(ectx)
		if diags.HasErrors() {
			t.Fatalf("%v", diags)
		}
		var x any
		j, err := json.Marshal(ctyJSON(v))
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(j, &x)
		return x
	}
	if a, ok := b.Attributes["included_event_types"]; ok {
		for _, v := range val(a.Expr).([]any) {
			f.IncludedEventTypes = append(f.IncludedEventTypes, v.(string))
		}
	}
	if a, ok := b.Attributes["advanced_filtering_on_arrays_enabled"]; ok {
		f.EnableAdvancedFilteringOnArrays = val(a.Expr).(bool)
	}
	for _, blk := range b.Blocks {
		if blk.Type != "advanced_filter" {
			continue
		}
		for _, ob := range blk.Body.Blocks {
			af := AdvancedFilter{OperatorType: camel(ob.Type), Key: val(ob.Body.Attributes["key"].Expr).(string)}
			if a, ok := ob.Body.Attributes["values"]; ok {
				af.Values = val(a.Expr).([]any)
			}
			if a, ok := ob.Body.Attributes["value"]; ok {
				af.Value = val(a.Expr)
			}
			f.AdvancedFilters = append(f.AdvancedFilters, af)
		}
	}
	return f
}

// ctyJSON is v as plain Go values for encoding/json.
func ctyJSON(v cty.Value) any {
	switch {
	case v.IsNull():
		return nil
	case v.Type() == cty.String:
		return v.AsString()
	case v.Type() == cty.Bool:
		return v.True()
	case v.Type() == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f
	case v.Type().IsTupleType() || v.Type().IsListType():
		out := []any{}
		for _, e := range v.AsValueSlice() {
			out = append(out, ctyJSON(e))
		}
		return out
	case v.Type().IsObjectType() || v.Type().IsMapType():
		out := map[string]any{}
		for k, e := range v.AsValueMap() {
			out[k] = ctyJSON(e)
		}
		return out
	}
	return v.GoString()
}

// camel is string_in as StringIn.
func camel(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// checkTerraform checks the configuration against the project: one app,
// plan, container and zip per function (and the writer with a store), one
// event subscription per event with the filter Translate makes of its
// pattern, delivering to its app's events function; the storage account,
// the topic (CloudEvents 1.0), the store's database and container with its
// TTL; nothing else.
func checkTerraform(t *testing.T, p *project.Project, ex *providers.Export) {
	t.Helper()
	src := export.Template(ex).Data
	res, data := tfBlocks(t, src)
	files := map[string]bool{}
	for _, f := range ex.Files {
		files[f.Path] = true
	}
	names := Namer{Subscription: testSubscription, ResourceGroup: testResourceGroup, Project: p.Name}
	apps, subs := len(p.Functions), 0
	for _, fn := range p.Functions {
		subs += len(fn.Events)
	}
	store := p.Store.Type == cosmosStoreType
	if store {
		apps, subs = apps+1, subs+1
	}
	want := map[string]int{"azurerm_function_app_flex_consumption": apps, "azurerm_service_plan": apps, "azurerm_storage_container": apps,
		"azurerm_eventgrid_event_subscription": subs, "azurerm_storage_account": 1, "azurerm_eventgrid_topic": 1,
		"azurerm_log_analytics_workspace": 1, "azurerm_application_insights": 1,
		// Each app's EventGrid Data Sender role on the bus's topic.
		"azurerm_role_assignment": apps}
	if store {
		// With an account to assign on (the endpoint is https), the
		// writer's role assignment.
		want["azurerm_cosmosdb_sql_database"], want["azurerm_cosmosdb_sql_container"], want["azurerm_cosmosdb_sql_role_assignment"] = 1, 1, 1
	}
	total, got := 0, 0
	for typ, n := range want {
		total += n
		if len(res[typ]) != n {
			t.Errorf("%d %s, want %d", len(res[typ]), typ, n)
		}
	}
	for _, m := range res {
		got += len(m)
	}
	if got != total {
		t.Errorf("%d resources, want %d: evcli exports nothing it does not create", got, total)
	}
	if len(ex.Files) != apps+1 {
		t.Errorf("%d files, want the configuration and %d zips", len(ex.Files), apps)
	}
	if rg := strAttr(data["azurerm_resource_group"]["project"], "name"); rg != testResourceGroup {
		t.Errorf("resource group %q", rg)
	}
	if n := strAttr(res["azurerm_storage_account"]["project"], "name"); n != names.StorageAccount() {
		t.Errorf("storage account %q, want %q", n, names.StorageAccount())
	}
	if strAttr(res["azurerm_log_analytics_workspace"]["project"], "name") != names.Workspace() ||
		strAttr(res["azurerm_application_insights"]["project"], "name") != names.Insights() {
		t.Errorf("workspace %q, component %q; want %q, %q", strAttr(res["azurerm_log_analytics_workspace"]["project"], "name"),
			strAttr(res["azurerm_application_insights"]["project"], "name"), names.Workspace(), names.Insights())
	}
	topic := res["azurerm_eventgrid_topic"]["bus"]
	if strAttr(topic, "name") != Topic(p.Bus) || strAttr(topic, "input_schema") != "CloudEventSchemaV1_0" {
		t.Errorf("topic %q (%s), want %q taking CloudEvents 1.0", strAttr(topic, "name"), strAttr(topic, "input_schema"), Topic(p.Bus))
	}
	if store {
		c := res["azurerm_cosmosdb_sql_container"]["store"]
		ttl := ""
		if a, ok := c.Attributes["default_ttl"]; ok {
			ttl = string(a.Expr.Range().SliceBytes(src))
		}
		// Per-item TTL (-1) when the project keeps events for a while.
		if wantTTL := map[bool]string{true: "-1", false: ""}[p.Store.TTLDays > 0]; strAttr(c, "name") != "shop-events" || ttl != wantTTL ||
			!strings.Contains(string(c.Attributes["partition_key_paths"].Expr.Range().SliceBytes(src)), `"/aggregateId"`) {
			t.Errorf("store container: %s", c.Range().SliceBytes(src))
		}
		if a := strAttr(data["azurerm_cosmosdb_account"]["store"], "name"); a != "shop-store" {
			t.Errorf("cosmos account %q, want the endpoint's shop-store", a)
		}
		r := res["azurerm_cosmosdb_sql_role_assignment"]["store_writer"]
		if got := string(r.Attributes["principal_id"].Expr.Range().SliceBytes(src)); got != "azurerm_function_app_flex_consumption.evcli_store_writer.identity[0].principal_id" {
			t.Errorf("role assignment principal %s", got)
		}
		if got := string(r.Attributes["role_definition_id"].Expr.Range().SliceBytes(src)); !strings.HasSuffix(got, "/sqlRoleDefinitions/"+cosmosDataContributor+`"`) {
			t.Errorf("role assignment role %s", got)
		}
	}
	for _, fn := range p.Functions {
		id := snakeID(fn.Name)
		app, ok := res["azurerm_function_app_flex_consumption"][id]
		if !ok {
			t.Errorf("%s: no azurerm_function_app_flex_consumption.%s", fn.Name, id)
			continue
		}
		if strAttr(app, "name") != names.App(fn.Name) || strAttr(res["azurerm_service_plan"][id], "name") != names.App(fn.Name) ||
			strAttr(res["azurerm_storage_container"][id], "name") != Container(names.App(fn.Name)) {
			t.Errorf("%s: app %q, plan %q, container %q; want %q", fn.Name, strAttr(app, "name"), strAttr(res["azurerm_service_plan"][id], "name"),
				strAttr(res["azurerm_storage_container"][id], "name"), names.App(fn.Name))
		}
		zip := string(app.Attributes["zip_deploy_file"].Expr.Range().SliceBytes(src))
		path := strings.TrimSuffix(strings.TrimPrefix(zip, `"${path.module}/`), `"`)
		if !files[path] || !strings.HasPrefix(path, "artifacts/"+fn.Name+"-") {
			t.Errorf("%s: zip_deploy_file %s is no exported zip", fn.Name, zip)
		}
		for i, ev := range fn.Events {
			sid := fmt.Sprintf("%s_%d", id, i)
			s, ok := res["azurerm_eventgrid_event_subscription"][sid]
			if !ok {
				t.Errorf("%s events[%d]: no subscription %s", fn.Name, i, sid)
				continue
			}
			if n := strAttr(s, "name"); n != names.EventSubscription(fmt.Sprintf("%s-%d", fn.Name, i)) {
				t.Errorf("%s events[%d]: subscription name %q", fn.Name, i, n)
			}
			tr, err := Translate(ev.Pattern)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := canonical(filterOfTF(t, s, nil)), canonical(tr.Filter); got != want {
				t.Errorf("%s events[%d]: filter\n%s want\n%s", fn.Name, i, got, want)
			}
			var fid string
			for _, b := range s.Blocks {
				if b.Type == "azure_function_endpoint" {
					fid = string(b.Body.Attributes["function_id"].Expr.Range().SliceBytes(src))
				}
			}
			if fid != `"${azurerm_function_app_flex_consumption.`+id+`.id}/functions/`+EventsFunction+`"` {
				t.Errorf("%s events[%d]: function_id %s", fn.Name, i, fid)
			}
			if scope := string(s.Attributes["scope"].Expr.Range().SliceBytes(src)); scope != "azurerm_eventgrid_topic.bus.id" {
				t.Errorf("%s events[%d]: scope %s", fn.Name, i, scope)
			}
		}
	}
}

// TestExportCheckNamesTheChangedMemory: a committed configuration checked
// against a project whose first function's memory changed (128 to 1024 MB:
// a 2048 MB Flex instance) differs at the app's instance size and its
// evcli-memory tag, each named by its path; unchanged, none.
func TestExportCheckNamesTheChangedMemory(t *testing.T) {
	p := azProject(t, "fan-out")
	ex, err := offlineExport(t, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	committed := export.Template(ex).Data
	if diffs, err := export.Check(ex, "main.tf", committed); err != nil || len(diffs) != 0 {
		t.Fatalf("a fresh export differs: %v %v", diffs, err)
	}
	if p.Functions[0].Name != "inventory" || p.Functions[0].MemoryMB != 128 {
		t.Fatalf("the first function is %s with %d MB", p.Functions[0].Name, p.Functions[0].MemoryMB)
	}
	p.Functions[0].MemoryMB = 1024
	changed, err := offlineExport(t, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	diffs, err := export.Check(changed, "main.tf", committed)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, d := range diffs {
		lines = append(lines, d.String())
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		"~ resource.azurerm_function_app_flex_consumption.inventory.instance_memory_in_mb: 512 -> 2048",
		"resource.azurerm_function_app_flex_consumption.inventory.tags",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the differences do not name %q:\n%s", want, all)
		}
	}
}

// TestExportRefusals: what deploy refuses export refuses with the same
// error (an unenforceable pattern without the guard, a reserved setting);
// CloudFormation and SAM are AWS's; no subscription is Unconfigured.
func TestExportRefusals(t *testing.T) {
	ctx := context.Background()
	p := azProject(t, "fan-out")
	desired, err := export.Desired(ctx, export.Options{Project: p})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envSubscription: testSubscription, envResourceGroup: testResourceGroup, envLocation: testLocation}
	prov, err := Open(ctx, providers.OpenOptions{Project: p.Name, Bus: p.Bus, Offline: true, Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{providers.FormatCloudFormation, providers.FormatSAM} {
		if _, err := prov.Exporter.Export(ctx, desired, format); providers.CodeOf(err) != providers.Unsupported || !strings.Contains(err.Error(), "AWS formats") {
			t.Errorf("%s: %v, want Unsupported", format, err)
		}
	}
	wild := desired[0]
	wild.Rules = []providers.RuleSpec{{ID: wild.Name + "-0", Bus: p.Bus, Pattern: json.RawMessage(`{"source":[{"wildcard":"shop.*"}]}`)}}
	_, exportErr := prov.Exporter.Export(ctx, []providers.FunctionDeployment{wild}, providers.FormatTerraform)
	d := &deployer{c: &config{project: p.Name, names: Namer{testSubscription, testResourceGroup, p.Name}}}
	_, deployErr := d.appSpec(wild)
	if exportErr == nil || providers.CodeOf(exportErr) != providers.Unsupported || deployErr == nil || !strings.Contains(exportErr.Error(), "wildcard") {
		t.Errorf("wildcard: export %v, deploy %v; want both Unsupported", exportErr, deployErr)
	}
	reserved := desired[0]
	reserved.Env = map[string]string{"WEBSITE_X": "1"}
	_, exportErr = prov.Exporter.Export(ctx, []providers.FunctionDeployment{reserved}, providers.FormatTerraform)
	_, deployErr = d.appSpec(reserved)
	if exportErr == nil || deployErr == nil || exportErr.Error() != deployErr.Error() {
		t.Errorf("reserved setting: export %v, deploy %v", exportErr, deployErr)
	}
	// A cosmos store without an account endpoint: deploy has no store, and
	// the export neither.
	withStore, err := Open(ctx, providers.OpenOptions{Project: p.Name, Bus: p.Bus, Store: storeSpec(p), Offline: true, Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if ex, err := withStore.Exporter.Export(ctx, desired, providers.FormatTerraform); err != nil || strings.Contains(string(export.Template(ex).Data), "cosmosdb") {
		t.Errorf("no Cosmos DB endpoint: %v, or a store deploy would not make", err)
	}
	delete(env, envSubscription)
	none, err := Open(ctx, providers.OpenOptions{Project: p.Name, Bus: p.Bus, Offline: true, Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Exporter.Export(ctx, desired, providers.FormatTerraform); providers.CodeOf(err) != providers.Unconfigured {
		t.Errorf("no subscription: %v, want Unconfigured", err)
	}
}

// TestExportSecretsAreVariables: a secret's value is never written: the
// app setting refers to a sensitive variable secret_<name>, declared once.
func TestExportSecretsAreVariables(t *testing.T) {
	ctx := context.Background()
	p := azProject(t, "fan-out")
	desired, err := export.Desired(ctx, export.Options{Project: p})
	if err != nil {
		t.Fatal(err)
	}
	for i := range desired[:2] {
		desired[i].Env["API_KEY"] = "(secret)"
		desired[i].SecretNames = append(desired[i].SecretNames, "API_KEY")
	}
	env := map[string]string{envSubscription: testSubscription, envResourceGroup: testResourceGroup, envLocation: testLocation}
	prov, err := Open(ctx, providers.OpenOptions{Project: p.Name, Bus: p.Bus, Offline: true, Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := prov.Exporter.Export(ctx, desired, providers.FormatTerraform)
	if err != nil {
		t.Fatal(err)
	}
	src := string(export.Template(ex).Data)
	if strings.Contains(src, "(secret)") {
		t.Error("the configuration holds a secret's placeholder value")
	}
	if n := strings.Count(src, `variable "secret_api_key" {`); n != 1 || !strings.Contains(src, "sensitive   = true") {
		t.Errorf("%d secret_api_key variables, want one sensitive:\n%s", n, src)
	}
	if n := strings.Count(src, `"API_KEY"                                = var.secret_api_key`); n != 2 {
		t.Errorf("%d app settings refer to var.secret_api_key, want 2", n)
	}
	if _, diags := hclparse.NewParser().ParseHCL([]byte(src), TFTemplateFile); diags.HasErrors() {
		t.Fatal(diags)
	}
}
