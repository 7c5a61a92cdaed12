package azure

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/eventgrid/armeventgrid/v2"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/evcli/evcli/export"
	"github.com/evcli/evcli/internal/testenv"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/azure/aztest"
)

// Export and deploy come from one desired state: each template is deployed
// to the aztest fake (ARM for apps, plans, storage and Event Grid; the
// event-sourcing store's container on the Cosmos DB emulator) and exported
// by the same opened provider, and, resource by resource, what the fakes
// hold is compared with the exported Terraform's attributes — evaluated,
// with the references a Terraform apply would resolve (an app's id, the
// storage account's blob endpoint, the topic's id) taken from the fakes:
// each app's name, tags, runtime, instance size, maximum instances,
// deployment container and app settings (all but the two storage
// connection strings, which are the storage account's attributes); each
// plan's SKU; the storage account and containers; the topic's input
// schema; each event subscription's filter, labels, destination, schema,
// batching and retry policy; the store's container, partition key and TTL.

func TestExportAgreesWithDeploy(t *testing.T) {
	for _, tmpl := range []string{"fan-out", "event-sourcing", "saga"} {
		t.Run(tmpl, func(t *testing.T) {
			ctx := context.Background()
			p := azProject(t, tmpl)
			h := newHarness(t.TempDir())
			t.Cleanup(h.Close)
			o := providers.OpenOptions{Project: p.Name, Bus: p.Bus}
			if tmpl == "event-sourcing" {
				h.cosmosEndpoint, h.cosmosClient = testenv.CosmosDB(t)
				// An account ARM knows: deploy assigns the writer its role.
				h.envOver = map[string]string{EnvCosmosAccount: "shopdb"}
				h.fake.AddCosmosAccount("shopdb")
				o.Store = storeSpec(p)
			}
			prov, err := open(ctx, h.options(o), h.transports())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { prov.Close(context.Background()) })
			desired, err := export.Desired(ctx, export.Options{Project: p})
			if err != nil {
				t.Fatal(err)
			}
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
			compareWithFakes(t, h, prov.Deployer.(*deployer), p, ex)
		})
	}
}

// val evaluates an attribute as text: strings as they are, numbers and
// bools as written, lists and maps as JSON.
func val(t *testing.T, b *hclsyntax.Body, name string, ectx *hcl.EvalContext) string {
	t.Helper()
	a, ok := b.Attributes[name]
	if !ok {
		return ""
	}
	v, diags := a.Expr.Value(ectx)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", name, diags)
	}
	switch x := ctyJSON(v).(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		j, _ := json.Marshal(x)
		return string(j)
	}
}

func block(b *hclsyntax.Body, typ string) *hclsyntax.Body {
	for _, blk := range b.Blocks {
		if blk.Type == typ {
			return blk.Body
		}
	}
	return &hclsyntax.Body{}
}

func jsonText(v any) string {
	j, _ := json.Marshal(v)
	return string(j)
}

func compareWithFakes(t *testing.T, h *harness, d *deployer, p *project.Project, ex *providers.Export) {
	t.Helper()
	ctx := context.Background()
	src := export.Template(ex).Data
	res, data := tfBlocks(t, src)
	obj := func(m map[string]cty.Value) cty.Value { return cty.ObjectVal(m) }
	account := d.c.names.StorageAccount()
	blob := d.c.storage.resolve("https://{name}.blob.core.windows.net", account) + "/"

	// The workspace and the component.
	var ws workspaceResource
	var comp struct {
		Tags       map[string]string `json:"tags"`
		Properties struct {
			ApplicationType     string `json:"Application_Type"`
			WorkspaceResourceID string `json:"WorkspaceResourceId"`
			ConnectionString    string `json:"ConnectionString"`
		} `json:"properties"`
	}
	if err := d.armCall(ctx, http.MethodGet, d.workspacePath(), workspaceAPI, nil, &ws); err != nil {
		t.Fatalf("workspace: %v", err)
	}
	if err := d.armCall(ctx, http.MethodGet, d.insightsPath(), insightsAPI, nil, &comp); err != nil {
		t.Fatalf("component: %v", err)
	}
	insightsCS := comp.Properties.ConnectionString

	// The account data source resolves to what it names.
	accountName := ""
	if a := data["azurerm_cosmosdb_account"]["store"]; a != nil {
		accountName = strAttr(a, "name")
	}
	database := "(no store)"
	if d.store != nil {
		database = d.store.cfg.Database
	}
	// What Terraform would resolve, from the fakes.
	apps, plans, containers := map[string]cty.Value{}, map[string]cty.Value{}, map[string]cty.Value{}
	for id, b := range res["azurerm_function_app_flex_consumption"] {
		name := strAttr(b, "name")
		s, err := d.site(ctx, name)
		if err != nil {
			t.Errorf("exported app %s was not deployed: %v", name, err)
			continue
		}
		principal := ""
		if s.Identity != nil {
			principal = str(s.Identity.PrincipalID)
		}
		apps[id] = obj(map[string]cty.Value{"id": cty.StringVal(str(s.ID)),
			"identity": cty.TupleVal([]cty.Value{obj(map[string]cty.Value{"principal_id": cty.StringVal(principal)})})})
	}
	for id, b := range res["azurerm_service_plan"] {
		plans[id] = obj(map[string]cty.Value{"id": cty.StringVal(d.planID(strAttr(b, "name")))})
	}
	for id, b := range res["azurerm_storage_container"] {
		containers[id] = obj(map[string]cty.Value{"name": cty.StringVal(strAttr(b, "name"))})
	}
	busEndpoint := ""
	if bt, err := d.topics.Get(ctx, d.rg(), Topic(d.bus), nil); err == nil && bt.Properties != nil {
		busEndpoint = str(bt.Properties.Endpoint)
	}
	vars := map[string]cty.Value{
		"data": obj(map[string]cty.Value{
			"azurerm_resource_group":   obj(map[string]cty.Value{"project": obj(map[string]cty.Value{"name": cty.StringVal(d.rg())})}),
			"azurerm_cosmosdb_account": obj(map[string]cty.Value{"store": obj(map[string]cty.Value{"name": cty.StringVal(accountName), "resource_group_name": cty.StringVal(d.rg()), "id": cty.StringVal(d.cosmosAccountID())})}),
		}),
		"azurerm_storage_account": obj(map[string]cty.Value{"project": obj(map[string]cty.Value{"id": cty.StringVal(d.storagePath()),
			"name": cty.StringVal(account), "primary_blob_endpoint": cty.StringVal(blob),
			"primary_connection_string": cty.StringVal("(connection string)"), "primary_access_key": cty.StringVal("(key)")})}),
		"azurerm_eventgrid_topic":         obj(map[string]cty.Value{"bus": obj(map[string]cty.Value{"id": cty.StringVal(d.topicScope(Topic(d.bus))), "endpoint": cty.StringVal(busEndpoint)})}),
		"azurerm_cosmosdb_sql_database":   obj(map[string]cty.Value{"store": obj(map[string]cty.Value{"name": cty.StringVal(database)})}),
		"path":                            obj(map[string]cty.Value{"module": cty.StringVal(".")}),
		"azurerm_log_analytics_workspace": obj(map[string]cty.Value{"project": obj(map[string]cty.Value{"id": cty.StringVal(d.workspacePath())})}),
		"azurerm_application_insights":    obj(map[string]cty.Value{"project": obj(map[string]cty.Value{"connection_string": cty.StringVal(insightsCS)})}),
	}
	if len(apps) > 0 {
		vars["azurerm_function_app_flex_consumption"] = obj(apps)
		vars["azurerm_service_plan"] = obj(plans)
		vars["azurerm_storage_container"] = obj(containers)
	}
	ectx := &hcl.EvalContext{Variables: vars, Functions: map[string]function.Function{
		"sha256": function.New(&function.Spec{Params: []function.Parameter{{Name: "s", Type: cty.String}}, Type: function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				sum := sha256.Sum256([]byte(args[0].AsString()))
				return cty.StringVal(hex.EncodeToString(sum[:])), nil
			}}),
		"lower": stdlib.LowerFunc, "substr": stdlib.SubstrFunc, "format": stdlib.FormatFunc,
	}}
	// The configuration's locals, as Terraform evaluates them.
	locals := map[string]cty.Value{}
	f, _ := hclparse.NewParser().ParseHCL(src, TFTemplateFile)
	for _, blk := range f.Body.(*hclsyntax.Body).Blocks {
		if blk.Type == "locals" {
			for n, a := range blk.Body.Attributes {
				v, diags := a.Expr.Value(ectx)
				if diags.HasErrors() {
					t.Fatalf("local.%s: %v", n, diags)
				}
				locals[n] = v
			}
		}
	}
	if len(locals) > 0 {
		ectx.Variables["local"] = cty.ObjectVal(locals)
	}
	files := map[string][]byte{}
	for _, f := range ex.Files {
		files[f.Path] = f.Data
	}
	wb, ib := res["azurerm_log_analytics_workspace"]["project"], res["azurerm_application_insights"]["project"]
	if val(t, wb, "name", ectx) != d.c.names.Workspace() || val(t, wb, "sku", ectx) != ws.Properties.SKU.Name ||
		val(t, wb, "retention_in_days", ectx) != fmt.Sprint(ws.Properties.RetentionInDays) || val(t, wb, "tags", ectx) != jsonText(ws.Tags) {
		t.Errorf("workspace: exported %s, deployed %+v", wb.Range().SliceBytes(src), ws)
	}
	if val(t, ib, "name", ectx) != d.c.names.Insights() || val(t, ib, "application_type", ectx) != comp.Properties.ApplicationType ||
		!strings.EqualFold(val(t, ib, "workspace_id", ectx), comp.Properties.WorkspaceResourceID) || val(t, ib, "tags", ectx) != jsonText(comp.Tags) {
		t.Errorf("component: exported %s, deployed %+v", ib.Range().SliceBytes(src), comp)
	}
	if rg := strAttr(data["azurerm_resource_group"]["project"], "name"); rg != d.rg() {
		t.Errorf("resource group %q, deployed into %q", rg, d.rg())
	}

	// The storage account and the topic.
	var acct struct {
		Kind string                `json:"kind"`
		SKU  struct{ Name string } `json:"sku"`
		Tags map[string]string     `json:"tags"`
	}
	sa := res["azurerm_storage_account"]["project"]
	if err := d.armCall(ctx, http.MethodGet, d.storagePath(), storageAPI, nil, &acct); err != nil || strAttr(sa, "name") != account {
		t.Errorf("storage account %s: %v", strAttr(sa, "name"), err)
	}
	if got := val(t, sa, "account_kind", ectx); got != acct.Kind {
		t.Errorf("storage account kind: exported %q, deployed %q", got, acct.Kind)
	}
	if got := val(t, sa, "account_tier", ectx) + "_" + val(t, sa, "account_replication_type", ectx); got != acct.SKU.Name {
		t.Errorf("storage account sku: exported %q, deployed %q", got, acct.SKU.Name)
	}
	if got := val(t, sa, "tags", ectx); got != jsonText(acct.Tags) {
		t.Errorf("storage account tags: exported %s, deployed %s", got, jsonText(acct.Tags))
	}
	tb := res["azurerm_eventgrid_topic"]["bus"]
	topic, err := d.topics.Get(ctx, d.rg(), strAttr(tb, "name"), nil)
	if err != nil {
		t.Fatalf("exported topic %s: %v", strAttr(tb, "name"), err)
	}
	if got := val(t, tb, "input_schema", ectx); got != string(*topic.Properties.InputSchema) || val(t, tb, "tags", ectx) != jsonText(tags(topic.Tags)) {
		t.Errorf("topic: exported %s %s, deployed %s %v", got, val(t, tb, "tags", ectx), *topic.Properties.InputSchema, tags(topic.Tags))
	}

	// Each app, its plan and its deployment container.
	deployed, packages := map[string]bool{}, map[string][]byte{}
	for _, a := range h.fake.Apps() {
		deployed[a.Name], packages[a.Name] = true, a.Package
	}
	exported := map[string]bool{}
	for id, b := range res["azurerm_function_app_flex_consumption"] {
		name := val(t, b, "name", ectx)
		exported[name] = true
		s, err := d.site(ctx, name)
		if err != nil {
			continue
		}
		fc := s.Properties.FunctionAppConfig
		if s.Identity == nil || val(t, block(b, "identity"), "type", ectx) != string(*s.Identity.Type) {
			t.Errorf("%s identity: exported %q, deployed %v", name, val(t, block(b, "identity"), "type", ectx), s.Identity)
		}
		want := map[string]string{
			"location":                    d.c.location,
			"service_plan_id":             str(s.Properties.ServerFarmID),
			"storage_container_endpoint":  str(fc.Deployment.Storage.Value),
			"storage_authentication_type": string(*fc.Deployment.Storage.Authentication.Type),
			"runtime_name":                string(*fc.Runtime.Name),
			"runtime_version":             str(fc.Runtime.Version),
			"instance_memory_in_mb":       fmt.Sprint(*fc.ScaleAndConcurrency.InstanceMemoryMB),
			"maximum_instance_count":      fmt.Sprint(*fc.ScaleAndConcurrency.MaximumInstanceCount),
			"tags":                        jsonText(tags(s.Tags)),
			"https_only":                  fmt.Sprint(s.Properties.HTTPSOnly != nil && *s.Properties.HTTPSOnly),
		}
		for k, w := range want {
			if got := val(t, b, k, ectx); got != w {
				t.Errorf("azurerm_function_app_flex_consumption.%s.%s: exported %q, deployed %q", id, k, got, w)
			}
		}
		st, err := d.settings(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		// The storage connection strings are the account's attributes
		// (storage_access_key, function_app_storage_account_*), not settings.
		if st[settingStorage] == "" || st[settingDeployment] == "" {
			t.Errorf("%s: deployed without storage settings", name)
		}
		delete(st, settingStorage)
		delete(st, settingDeployment)
		// The component's connection string is site_config's.
		if got := val(t, block(b, "site_config"), "application_insights_connection_string", ectx); insightsCS == "" || got != st[settingInsights] {
			t.Errorf("%s: application_insights_connection_string %q, deployed %q", name, got, st[settingInsights])
		}
		delete(st, settingInsights)
		if got := val(t, b, "app_settings", ectx); got != jsonText(st) {
			t.Errorf("%s app settings: exported\n%s\ndeployed\n%s", name, got, jsonText(st))
		}
		zip := strings.TrimPrefix(val(t, b, "zip_deploy_file", ectx), "./")
		if pkg := packages[name]; len(pkg) == 0 || string(files[zip]) != string(pkg) {
			t.Errorf("%s: the exported zip %s (%d bytes) is not what deploy published (%d bytes)", name, zip, len(files[zip]), len(pkg))
		}
		plan, err := d.plans.Get(ctx, d.rg(), val(t, res["azurerm_service_plan"][id], "name", ectx), nil)
		if err != nil || str(plan.SKU.Name) != val(t, res["azurerm_service_plan"][id], "sku_name", ectx) ||
			val(t, res["azurerm_service_plan"][id], "tags", ectx) != jsonText(tags(plan.Tags)) {
			t.Errorf("%s plan: deployed %v %v, exported %s", name, plan, err, res["azurerm_service_plan"][id].Range().SliceBytes(src))
		}
		cname := val(t, res["azurerm_storage_container"][id], "name", ectx)
		if err := d.armCall(ctx, http.MethodGet, d.storagePath()+"/blobServices/default/containers/"+cname, storageAPI, nil, nil); err != nil {
			t.Errorf("%s: container %s: %v", name, cname, err)
		}
	}
	if !maps.Equal(deployed, exported) {
		t.Errorf("apps deployed %v, exported %v", slices.Sorted(maps.Keys(deployed)), slices.Sorted(maps.Keys(exported)))
	}

	// Each event subscription.
	got, err := d.topicSubscriptions(ctx, Topic(d.bus))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(res["azurerm_eventgrid_event_subscription"]) {
		t.Errorf("%d event subscriptions deployed, %d exported", len(got), len(res["azurerm_eventgrid_event_subscription"]))
	}
	for id, b := range res["azurerm_eventgrid_event_subscription"] {
		name := val(t, b, "name", ectx)
		s := got[name]
		if s == nil {
			t.Errorf("exported event subscription %s was not deployed", name)
			continue
		}
		if scope := val(t, b, "scope", ectx); !strings.EqualFold(scope, d.topicScope(Topic(d.bus))) {
			t.Errorf("%s: scope %s", id, scope)
		}
		if g, w := canonical(filterOfTF(t, b, ectx)), canonical(s.Properties.Filter); g != w {
			t.Errorf("%s filter: exported\n%s deployed\n%s", id, g, w)
		}
		fe := block(b, "azure_function_endpoint")
		if dest := val(t, fe, "function_id", ectx); !strings.EqualFold(dest, destinationOf(s)) {
			t.Errorf("%s: function_id %s, deployed %s", id, dest, destinationOf(s))
		}
		if dp, ok := s.Properties.Destination.(*armeventgrid.AzureFunctionEventSubscriptionDestination); !ok || dp.Properties == nil ||
			val(t, fe, "max_events_per_batch", ectx) != fmt.Sprint(*dp.Properties.MaxEventsPerBatch) ||
			val(t, fe, "preferred_batch_size_in_kilobytes", ectx) != fmt.Sprint(*dp.Properties.PreferredBatchSizeInKilobytes) {
			t.Errorf("%s batching: exported %s, deployed %v", id, fe.Range().SliceBytes(src), s.Properties.Destination)
		}
		var labels []string
		json.Unmarshal([]byte(val(t, b, "labels", ectx)), &labels)
		slices.Sort(labels)
		if !slices.Equal(labels, labelsOf(s.Properties.Labels)) {
			t.Errorf("%s labels: exported %v, deployed %v", id, labels, labelsOf(s.Properties.Labels))
		}
		if sch := val(t, b, "event_delivery_schema", ectx); sch != str(s.Properties.EventDeliverySchema) {
			t.Errorf("%s schema: exported %s, deployed %s", id, sch, str(s.Properties.EventDeliverySchema))
		}
		rp := block(b, "retry_policy")
		if r := s.Properties.RetryPolicy; r == nil || val(t, rp, "max_delivery_attempts", ectx) != fmt.Sprint(*r.MaxDeliveryAttempts) ||
			val(t, rp, "event_time_to_live", ectx) != fmt.Sprint(*r.EventTimeToLiveInMinutes) {
			t.Errorf("%s retry policy: exported %s, deployed %v", id, rp.Range().SliceBytes(src), r)
		}
	}

	// The writer's role assignment.
	roles := h.fake.RoleAssignments()
	exportedRoles := res["azurerm_cosmosdb_sql_role_assignment"]
	if len(roles) != len(exportedRoles) {
		t.Errorf("%d role assignments deployed, %d exported", len(roles), len(exportedRoles))
	}
	for id, b := range exportedRoles {
		if len(roles) != 1 {
			break
		}
		r := roles[0]
		if n := val(t, b, "name", ectx); n != r.Name {
			t.Errorf("role assignment %s: exported name %s, deployed %s", id, n, r.Name)
		}
		if got := val(t, b, "principal_id", ectx); got != r.PrincipalID || !strings.EqualFold(val(t, b, "scope", ectx), r.Scope) ||
			!strings.EqualFold(val(t, b, "role_definition_id", ectx), r.RoleDefinitionID) || !strings.EqualFold(val(t, b, "account_name", ectx), r.Account) {
			t.Errorf("role assignment %s: exported %s (principal %s scope %s), deployed %+v", id, b.Range().SliceBytes(src), got, val(t, b, "scope", ectx), r)
		}
	}

	// Each app's EventGrid Data Sender role on the bus's topic.
	senders := h.fake.ARMRoleAssignments()
	exportedSenders := res["azurerm_role_assignment"]
	if len(senders) != len(exportedSenders) || len(senders) != len(deployed) {
		t.Errorf("%d Azure role assignments deployed, %d exported, %d apps", len(senders), len(exportedSenders), len(deployed))
	}
	byName := map[string]aztest.ARMRoleAssignment{}
	for _, r := range senders {
		byName[r.Name] = r
	}
	for id, b := range exportedSenders {
		r, ok := byName[val(t, b, "name", ectx)]
		if !ok {
			t.Errorf("azurerm_role_assignment.%s: exported name %s was not deployed (%v)", id, val(t, b, "name", ectx), senders)
			continue
		}
		if val(t, b, "principal_id", ectx) != r.PrincipalID || !strings.EqualFold(val(t, b, "scope", ectx), r.Scope) ||
			!strings.EqualFold(val(t, b, "role_definition_id", ectx), r.RoleDefinitionID) || val(t, b, "principal_type", ectx) != r.PrincipalType {
			t.Errorf("azurerm_role_assignment.%s: exported %s, deployed %+v", id, b.Range().SliceBytes(src), r)
		}
	}

	// The store's container.
	if p.Store.Type == cosmosStoreType && d.store != nil {
		c := res["azurerm_cosmosdb_sql_container"]["store"]
		db := res["azurerm_cosmosdb_sql_database"]["store"]
		cfg := d.store.cfg
		r, err := d.store.container.Read(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		props := r.ContainerProperties
		ttl := ""
		if props.DefaultTimeToLive != nil {
			ttl = fmt.Sprint(*props.DefaultTimeToLive)
		}
		if val(t, db, "name", ectx) != cfg.Database || val(t, c, "name", ectx) != props.ID ||
			val(t, c, "partition_key_paths", ectx) != jsonText(props.PartitionKeyDefinition.Paths) || val(t, c, "default_ttl", ectx) != ttl {
			t.Errorf("store: exported %s %s, deployed %s/%s %v ttl %s", db.Range().SliceBytes(src), c.Range().SliceBytes(src),
				cfg.Database, props.ID, props.PartitionKeyDefinition.Paths, ttl)
		}
	}
}

func labelsOf(l []*string) []string { return labels(l) }
