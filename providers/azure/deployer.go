package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/eventgrid/armeventgrid/v2"
	"golang.org/x/sync/errgroup"

	"github.com/evcli/evcli/providers"
)

// Tags evcli keeps on a function app, and app settings it owns. Tags are
// what the listing is narrowed by; the settings carry what the
// entrypoint reads (the exact names, the rules for the guard) and the
// code hash, which changes only once the package is published. Deployed
// leaves the settings evcli owns out of the environment it reports.
const (
	TagProject  = "evcli-project"
	TagFunction = "evcli-function"
	TagMemory   = "evcli-memory" // the memory evcli.yaml asked for (MB); the instance has the Flex size that holds it
	TagRuntime  = "evcli-runtime"
	TagBus      = "evcli-bus"

	SettingProject     = "EVCLI_PROJECT"
	SettingFunction    = "EVCLI_FUNCTION"
	SettingHandler     = "EVCLI_HANDLER"
	SettingRules       = "EVCLI_RULES"
	SettingCorrelation = "EVCLI_CORRELATION"
	SettingGuard       = "EVCLI_GUARD"
	SettingCode        = "EVCLI_CODE_SHA256" // the published package's SHA-256 (Lambda's base64 form)
	// SettingWorker records that the project gave the function
	// FUNCTIONS_WORKER_RUNTIME (handlers: azure does, so that its code sees
	// the host's value locally too). Flex Consumption refuses that name
	// as an app setting and sets it itself from the app's runtime, so evcli
	// checks the value, keeps it out of the settings and reads it back
	// from here, and a second deploy compares equal.
	SettingWorker     = "EVCLI_WORKER_RUNTIME"
	envWorker         = "FUNCTIONS_WORKER_RUNTIME"
	settingTimeout    = "AzureFunctionsJobHost__functionTimeout"
	settingStorage    = "AzureWebJobsStorage"
	settingDeployment = "DEPLOYMENT_STORAGE_CONNECTION_STRING"
)

// The functions evcli's entrypoint registers in every function app: the
// Event Grid–triggered one that event subscriptions deliver to, and the
// HTTP route invoke calls (function auth level: the host key opens it).
const (
	EventsFunction = "events"
	InvokeRoute    = "/api/evcli-invoke"
)

// reservedSetting reports whether an app setting is evcli's or the
// platform's, not the function's environment.
func reservedSetting(k string) bool {
	if k == SettingPythonScript {
		return true
	}
	for _, p := range []string{"EVCLI_", "AzureWebJobs", "AzureFunctionsJobHost__", "DEPLOYMENT_STORAGE_", "APPLICATIONINSIGHTS_", "FUNCTIONS_", "WEBSITE_", "SCM_"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// FlexMemorySizes are the Flex Consumption plan's instance memory sizes.
var FlexMemorySizes = []int{512, 2048, 4096}

// FlexMemory is the instance size that holds mb, or an error naming the
// sizes.
func FlexMemory(mb int) (int, error) {
	for _, s := range FlexMemorySizes {
		if mb <= s {
			return s, nil
		}
	}
	return 0, fmt.Errorf("memory %d MB is over the largest Flex Consumption instance (%d MB); the sizes are %v", mb, FlexMemorySizes[len(FlexMemorySizes)-1], FlexMemorySizes)
}

// runtimeOf maps an evcli runtime to Flex Consumption's runtime name and
// version.
func runtimeOf(rt string) (name armappservice.RuntimeName, version string, err error) {
	switch {
	case strings.HasPrefix(rt, "python3."):
		return armappservice.RuntimeNamePython, strings.TrimPrefix(rt, "python"), nil
	case strings.HasPrefix(rt, "nodejs"):
		return armappservice.RuntimeNameNode, strings.TrimSuffix(strings.TrimPrefix(rt, "nodejs"), ".x"), nil
	case rt == "go" || strings.HasPrefix(rt, "go1") || strings.HasPrefix(rt, "provided"):
		return armappservice.RuntimeNameCustom, "1.0", nil
	case strings.HasPrefix(rt, "java"):
		return armappservice.RuntimeNameJava, strings.TrimPrefix(rt, "java"), nil
	case strings.HasPrefix(rt, "dotnet"):
		return armappservice.RuntimeNameDotnetIsolated, strings.TrimPrefix(rt, "dotnet") + ".0", nil
	}
	return "", "", &providers.Error{Code: providers.InvalidArgument, Err: fmt.Errorf("runtime %q has no Flex Consumption counterpart", rt),
		Hint: "use python3.x, nodejsNN.x, go (a custom handler), javaNN or dotnetN"}
}

// workerOf is the FUNCTIONS_WORKER_RUNTIME Azure Functions sets for a
// runtime: "custom" for a custom handler (Go).
func workerOf(rt armappservice.RuntimeName) string {
	if rt == armappservice.RuntimeNameCustom {
		return "custom"
	}
	return strings.ToLower(string(rt))
}

// deployer deploys a project's functions as Flex Consumption function
// apps and their rules as Event Grid event subscriptions; it is also the
// shared deployer (storage account, bus topic) and the invoker.
type deployer struct {
	c      *config
	sites  *armappservice.WebAppsClient
	plans  *armappservice.PlansClient
	topics *armeventgrid.TopicsClient
	subs   *armeventgrid.EventSubscriptionsClient
	raw    *arm.Client
	bus    string
	warnf  func(string, ...any)

	// store is the project's Cosmos DB event store and writer its
	// writer's desired state (nil: the project has no cosmos store);
	// PlanShared and ApplyShared include both.
	store  *cosmosStore
	writer *storeWriterSpec
	// logs is the tail source: invoke reads the invocation's lines.
	logs *insightsLogs

	mu        sync.Mutex
	storageCS string // the storage account's connection string, once read
	// insightsCS is the Application Insights connection string, once read.
	insightsCS string
	endpoints  map[string]string // topic -> data-plane URL, once read
}

func newDeployer(c *config, o providers.OpenOptions) (*deployer, error) {
	web, err := armappservice.NewClientFactory(c.subscription, c.cred, c.armOptions)
	if err != nil {
		return nil, classify("azure", err)
	}
	eg, err := armeventgrid.NewClientFactory(c.subscription, c.cred, c.armOptions)
	if err != nil {
		return nil, classify("azure", err)
	}
	raw, err := arm.NewClient("github.com/evcli/evcli/providers/azure", "v1.0.0", c.cred, c.armOptions)
	if err != nil {
		return nil, classify("azure", err)
	}
	return &deployer{c: c, sites: web.NewWebAppsClient(), plans: web.NewPlansClient(), topics: eg.NewTopicsClient(),
		subs: eg.NewEventSubscriptionsClient(), raw: raw, bus: o.Bus, warnf: o.Warnf, endpoints: map[string]string{}}, nil
}

// As exposes the clients: **armappservice.WebAppsClient,
// **armeventgrid.TopicsClient, **armeventgrid.EventSubscriptionsClient.
func (d *deployer) As(target any) bool {
	switch t := target.(type) {
	case **armappservice.WebAppsClient:
		*t = d.sites
	case **armeventgrid.TopicsClient:
		*t = d.topics
	case **armeventgrid.EventSubscriptionsClient:
		*t = d.subs
	default:
		return false
	}
	return true
}

// PhysicalName implements providers.Namer.
func (d *deployer) PhysicalName(fn string) string { return d.c.names.App(fn) }

func (d *deployer) rg() string { return d.c.resourceGroup }

// Deployed lists the project's function apps (one paged listing of the
// resource group, narrowed by the evcli-project tag), reads each one's app
// settings, and each bus topic's event subscriptions once: read calls
// only, the apps in parallel.
func (d *deployer) Deployed(ctx context.Context) ([]providers.FunctionDeployment, error) {
	sites, err := d.projectSites(ctx)
	if err != nil {
		return nil, err
	}
	var apps []*armappservice.Site
	for _, s := range sites {
		// The store writer is a shared resource (PlanShared), not one of
		// the project's functions.
		if !isStoreWriter(tag(s.Tags, TagFunction)) {
			apps = append(apps, s)
		}
	}
	return d.read(ctx, apps)
}

// projectSites lists the resource group's function apps of the project
// (tagged with it and with a function): one paged listing.
func (d *deployer) projectSites(ctx context.Context) ([]*armappservice.Site, error) {
	var apps []*armappservice.Site
	pager := d.sites.NewListByResourceGroupPager(d.rg(), nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, classify("function apps in resource group "+d.rg(), err)
		}
		for _, s := range page.Value {
			if s != nil && s.Name != nil && tag(s.Tags, TagProject) == d.c.project && tag(s.Tags, TagFunction) != "" {
				apps = append(apps, s)
			}
		}
	}
	return apps, nil
}

// appFunctions maps each of the project's function apps to its function
// (the evcli-function tag): one paged listing of the resource group, for
// tail to name the lines of every function.
func (d *deployer) appFunctions(ctx context.Context) (map[string]string, error) {
	sites, err := d.projectSites(ctx)
	if err != nil {
		return nil, err
	}
	apps := map[string]string{}
	for _, s := range sites {
		apps[*s.Name] = tag(s.Tags, TagFunction)
	}
	return apps, nil
}

// DeployedFunctions implements providers.NamedReader: one Get each.
func (d *deployer) DeployedFunctions(ctx context.Context, names []string) ([]providers.FunctionDeployment, error) {
	var apps []*armappservice.Site
	for _, n := range names {
		s, err := d.site(ctx, d.c.names.App(n))
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if tag(s.Tags, TagProject) == d.c.project {
			apps = append(apps, s)
		}
	}
	return d.read(ctx, apps)
}

func (d *deployer) site(ctx context.Context, app string) (*armappservice.Site, error) {
	r, err := d.sites.Get(ctx, d.rg(), app, nil)
	if err != nil {
		return nil, classify("function app "+app, err)
	}
	return &r.Site, nil
}

// read turns apps into deployments: settings in parallel, subscriptions
// by topic once.
func (d *deployer) read(ctx context.Context, apps []*armappservice.Site) ([]providers.FunctionDeployment, error) {
	out := make([]providers.FunctionDeployment, len(apps))
	settings := make([]map[string]string, len(apps))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, s := range apps {
		g.Go(func() error {
			st, err := d.settings(gctx, *s.Name)
			settings[i] = st
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	subsByTopic := map[string]map[string]*armeventgrid.EventSubscription{}
	var senders map[string]bool
	if len(apps) > 0 {
		var err error
		if senders, err = d.senders(ctx, Topic(d.bus)); err != nil {
			return nil, err
		}
	}
	for i, s := range apps {
		fd := d.toDeployment(s, settings[i])
		if s.Identity == nil || !senders[strings.ToLower(str(s.Identity.PrincipalID))] {
			fd.Drift = append(fd.Drift, "its identity lacks the EventGrid Data Sender role on topic "+Topic(d.bus)+" (its functions cannot publish)")
		}
		for _, r := range fd.Rules {
			topic := Topic(r.Bus)
			subs, ok := subsByTopic[topic]
			if !ok {
				var err error
				if subs, err = d.topicSubscriptions(ctx, topic); err != nil {
					return nil, err
				}
				subsByTopic[topic] = subs
			}
			want, err := d.subscription(s, r)
			if err != nil {
				fd.Drift = append(fd.Drift, "rule "+r.ID+": "+err.Error())
				continue
			}
			got := subs[d.c.names.EventSubscription(r.ID)]
			switch {
			case got == nil:
				fd.Drift = append(fd.Drift, "rule "+r.ID+": its event subscription is missing")
			case !sameSubscription(got, want):
				fd.Drift = append(fd.Drift, "rule "+r.ID+": its event subscription was changed outside evcli")
			}
		}
		out[i] = fd
	}
	return out, nil
}

func (d *deployer) settings(ctx context.Context, app string) (map[string]string, error) {
	r, err := d.sites.ListApplicationSettings(ctx, d.rg(), app, nil)
	if err != nil {
		return nil, classify("app settings of "+app, err)
	}
	out := map[string]string{}
	for k, v := range r.Properties {
		if v != nil {
			out[k] = *v
		}
	}
	return out, nil
}

// toDeployment reads what evcli set on a function app back.
func (d *deployer) toDeployment(s *armappservice.Site, st map[string]string) providers.FunctionDeployment {
	fd := providers.FunctionDeployment{Name: tag(s.Tags, TagFunction), PhysicalName: *s.Name, Runtime: tag(s.Tags, TagRuntime),
		Handler: st[SettingHandler], CodeSha256: st[SettingCode], Correlation: st[SettingCorrelation], Architecture: "x86_64"}
	if st[SettingFunction] != "" {
		fd.Name = st[SettingFunction]
	}
	env := map[string]string{}
	writer := isStoreWriter(fd.Name)
	for k, v := range st {
		if k == SettingTopicEndpoint && st[settingTopicManaged] != "" {
			continue
		}
		if !reservedSetting(k) || writer && isWriterSetting(k) {
			env[k] = v
		}
	}
	// A package published by an evcli with another entrypoint is
	// published again: its code counts as changed.
	if !writer && fd.CodeSha256 != "" && staleEntry(st[SettingEntry]) {
		fd.CodeSha256 = ""
	}
	if w := st[SettingWorker]; w != "" {
		env[envWorker] = w
	}
	fd.Env = env
	if st[settingInsights] == "" {
		fd.Drift = append(fd.Drift, "no Application Insights connection string (tail and tune see nothing of it)")
	}
	if st[SettingTopicEndpoint] == "" {
		fd.Drift = append(fd.Drift, "no "+SettingTopicEndpoint+" (its functions cannot publish to the bus)")
	}
	if t, err := parseTimeout(st[settingTimeout]); err == nil {
		fd.TimeoutS = t
	}
	instance := 0
	if p := s.Properties; p != nil && p.FunctionAppConfig != nil {
		fc := p.FunctionAppConfig
		if sc := fc.ScaleAndConcurrency; sc != nil {
			if sc.InstanceMemoryMB != nil {
				instance = int(*sc.InstanceMemoryMB)
			}
			if sc.MaximumInstanceCount != nil && tag(s.Tags, "evcli-max-instances") == "set" {
				fd.Concurrency = int(*sc.MaximumInstanceCount)
			}
		}
		if name, version, err := runtimeOf(fd.Runtime); err != nil || fc.Runtime == nil || fc.Runtime.Name == nil ||
			*fc.Runtime.Name != name || (name != armappservice.RuntimeNameCustom && str(fc.Runtime.Version) != version) {
			fd.Drift = append(fd.Drift, "runtime changed outside evcli")
		}
	}
	fd.MemoryMB = instance
	if asked, err := strconv.Atoi(tag(s.Tags, TagMemory)); err == nil {
		if size, err := FlexMemory(asked); err == nil && size == instance {
			fd.MemoryMB = asked
		}
	}
	if r := st[SettingRules]; r != "" {
		if err := json.Unmarshal([]byte(r), &fd.Rules); err != nil {
			fd.Drift = append(fd.Drift, "rules unreadable ("+SettingRules+" was changed outside evcli)")
		}
	}
	return fd
}

func tag(tags map[string]*string, k string) string {
	if v := tags[k]; v != nil {
		return *v
	}
	return ""
}

// timeout is the functionTimeout host setting (hh:mm:ss) of s seconds.
func timeout(s int) string {
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

func parseTimeout(v string) (int, error) {
	var h, m, s int
	if _, err := fmt.Sscanf(v, "%d:%d:%d", &h, &m, &s); err != nil {
		return 0, err
	}
	return h*3600 + m*60 + s, nil
}

// ApplyFunction creates or updates the function app of fd and its event
// subscriptions: for a new app its Flex Consumption plan and deployment
// container first; then the app (configuration and app settings, the code
// hash still the deployed one); then, when the code changed, the package
// through OneDeploy and the new code hash; then the rules' event
// subscriptions, written only where they differ, and the app's
// subscriptions for rules it no longer has deleted. Rules Event Grid cannot
// enforce are refused before any call unless the guard is opted into.
func (d *deployer) ApplyFunction(ctx context.Context, fd providers.FunctionDeployment, codeChanged bool, step func(string)) error {
	if isStoreWriter(fd.Name) {
		return &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name,
			Err: fmt.Errorf("%s is the name of evcli's event-store writer", fd.Name), Hint: "rename the function"}
	}
	return d.apply(ctx, fd, codeChanged, step)
}

// apply is ApplyFunction for the project's functions and the store
// writer (whose settings are evcli's own).
func (d *deployer) apply(ctx context.Context, fd providers.FunctionDeployment, codeChanged bool, step func(string)) error {
	if step == nil {
		step = func(string) {}
	}
	app := d.c.names.App(fd.Name)
	res := "function " + fd.Name
	spec, err := d.appSpec(fd)
	if err != nil {
		return err
	}
	if codeChanged && fd.ArtifactPath == "" {
		return &providers.Error{Code: providers.InvalidArgument, Resource: res, Err: errors.New("no package to publish")}
	}
	// The package with evcli's entrypoint, before any call: a function
	// whose code cannot take it is refused with nothing changed.
	var pkg []byte
	if fd.ArtifactPath != "" {
		if pkg, err = d.packageOf(fd, spec.guarded); err != nil {
			return err
		}
	}
	if spec.memory != fd.MemoryMB && d.warnf != nil {
		d.warnf("function %s: memory %d MB runs on a %d MB Flex Consumption instance (the sizes are 512, 2048 and 4096)", fd.Name, fd.MemoryMB, spec.memory)
	}
	rtName, rtVersion, memory := spec.rtName, spec.rtVersion, spec.memory

	cur, err := d.site(ctx, app)
	exists := err == nil
	if err != nil && !isNotFound(err) {
		return err
	}
	if exists && tag(cur.Tags, TagProject) != d.c.project {
		return &providers.Error{Code: providers.Conflict, Resource: res,
			Err:  fmt.Errorf("function app %s belongs to project %q", app, tag(cur.Tags, TagProject)),
			Hint: "rename the function or the project"}
	}
	cs, err := d.storageConnection(ctx)
	if err != nil {
		return err
	}
	settings := spec.settings
	settings[settingStorage], settings[settingDeployment] = cs, cs
	if settings[settingInsights], err = d.insightsConnection(ctx); err != nil {
		return err
	}
	if err := d.publishSettings(ctx, fd, settings); err != nil {
		return err
	}
	if exists {
		old, err := d.settings(ctx, app)
		if err != nil {
			return err
		}
		if old[SettingCode] != "" {
			settings[SettingCode] = old[SettingCode]
		}
		if old[SettingEntry] != "" {
			settings[SettingEntry] = old[SettingEntry]
		}
		// A package without the guard's engine the rules now need (or
		// with one they no longer need) is published again.
		if !codeChanged && pkg != nil && !isStoreWriter(fd.Name) && old[SettingEntry] != entryTag(spec.guarded) {
			codeChanged = true
		}
	}
	if !exists {
		if d.c.location == "" {
			return &providers.Error{Code: providers.Unconfigured, Resource: res, Err: errors.New("no location is set to create the function app in"),
				Hint: "pass --region, set azure.location in evcli.yaml or " + envLocation + " (e.g. westeurope)"}
		}
		step("create plan")
		if err := d.createPlan(ctx, app); err != nil {
			return err
		}
		step("create deployment container")
		if err := d.createContainer(ctx, Container(app)); err != nil {
			return err
		}
	}
	step("update configuration")
	site := d.desiredSite(app, fd, rtName, rtVersion, memory, settings)
	if exists {
		site.Location = cur.Location
	}
	poller, err := d.sites.BeginCreateOrUpdate(ctx, d.rg(), app, site, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, d.pollOptions())
	}
	if err != nil {
		return classify("function app "+app, err)
	}
	created, err := d.site(ctx, app)
	if err != nil {
		return err
	}
	if codeChanged {
		step("publish code")
		if err := d.publish(ctx, created, pkg); err != nil {
			return err
		}
		settings[SettingCode] = fd.CodeSha256
		if !isStoreWriter(fd.Name) {
			settings[SettingEntry] = entryTag(spec.guarded)
		}
		props := map[string]*string{}
		for k, v := range settings {
			props[k] = to.Ptr(v)
		}
		if _, err := d.sites.UpdateApplicationSettings(ctx, d.rg(), app, armappservice.StringDictionary{Properties: props}, nil); err != nil {
			return classify("app settings of "+app, err)
		}
	}
	step("publish role")
	principal := ""
	if created.Identity != nil {
		principal = str(created.Identity.PrincipalID)
	}
	if err := d.applySenderRole(ctx, app, principal); err != nil {
		return err
	}
	step("event subscriptions")
	return d.applySubscriptions(ctx, created, fd)
}

// appSpec is what a function app of fd is before any call: its Flex
// runtime, its instance size and its app settings but the storage
// connection strings and the code hash (deploy reads those from Azure; an
// export refers to them). fd is refused here as deploy refuses it: a role,
// an architecture, a runtime or memory Flex lacks, a reserved setting, a
// rule Event Grid cannot enforce without the guard.
type appSpec struct {
	rtName    armappservice.RuntimeName
	rtVersion string
	memory    int
	guarded   bool
	settings  map[string]string
}

func (d *deployer) appSpec(fd providers.FunctionDeployment) (appSpec, error) {
	res := "function " + fd.Name
	if fd.Role != "" {
		return appSpec{}, &providers.Error{Code: providers.Unsupported, Resource: res,
			Err:  errors.New("role is an AWS execution role; an Azure function app runs as its managed identity"),
			Hint: "leave role out of evcli.yaml for azure"}
	}
	if fd.Architecture != "" && fd.Architecture != "x86_64" {
		return appSpec{}, &providers.Error{Code: providers.Unsupported, Resource: res,
			Err:  fmt.Errorf("architecture %s: Flex Consumption runs function apps on x86_64 only", fd.Architecture),
			Hint: "set architecture: x86_64 (or leave it out) for azure"}
	}
	rtName, rtVersion, err := runtimeOf(fd.Runtime)
	if err != nil {
		return appSpec{}, withResource(res, err)
	}
	memory, err := FlexMemory(fd.MemoryMB)
	if err != nil {
		return appSpec{}, &providers.Error{Code: providers.InvalidArgument, Resource: res, Err: err, Hint: "set memory to 4096 or less"}
	}
	for k, v := range fd.Env {
		if k == envWorker {
			if want := workerOf(rtName); v != want {
				return appSpec{}, &providers.Error{Code: providers.InvalidArgument, Resource: res,
					Err:  fmt.Errorf("environment variable %s is %q, but Azure Functions sets it to %q for runtime %s", k, v, want, fd.Runtime),
					Hint: fmt.Sprintf("leave %s out (Azure sets it) or set it to %q", k, want)}
			}
			continue
		}
		if reservedSetting(k) && !(isStoreWriter(fd.Name) && isWriterSetting(k)) {
			return appSpec{}, &providers.Error{Code: providers.InvalidArgument, Resource: res,
				Err: fmt.Errorf("environment variable %s is an app setting name Azure Functions or evcli reserves", k), Hint: "rename it"}
		}
	}
	guarded := false
	for _, r := range fd.Rules {
		tr, err := Translate(r.Pattern)
		if err != nil {
			return appSpec{}, &providers.Error{Code: providers.InvalidArgument, Resource: res + " rule " + r.ID, Err: err}
		}
		if !tr.Enforceable() {
			if !d.c.guard {
				return appSpec{}, &providers.Error{Code: providers.Unsupported, Resource: res, Err: errors.New(refusal(r.ID, tr)), Hint: guardHint}
			}
			if rtName != armappservice.RuntimeNameNode {
				return appSpec{}, &providers.Error{Code: providers.Unsupported, Resource: res, Err: errors.New(refusal(r.ID, tr) + "; " + noGuardFor(fd.Runtime)), Hint: noGuardHint}
			}
			guarded = true
		}
	}
	settings := map[string]string{}
	maps.Copy(settings, fd.Env)
	if w, ok := settings[envWorker]; ok {
		delete(settings, envWorker)
		settings[SettingWorker] = w
	}
	settings[SettingProject], settings[SettingFunction] = d.c.project, fd.Name
	settings[settingTimeout] = timeout(fd.TimeoutS)
	if fd.Handler != "" {
		settings[SettingHandler] = fd.Handler
	}
	if fd.Correlation != "" {
		settings[SettingCorrelation] = fd.Correlation
	}
	if guarded {
		settings[SettingGuard] = "in-function"
	}
	if rtName == armappservice.RuntimeNamePython && !isStoreWriter(fd.Name) {
		settings[SettingPythonScript] = EntryPython // the worker indexes evcli's entrypoint
	}
	if len(fd.Rules) > 0 {
		// Not json.Marshal: it would escape the patterns' < and > as \u003c,
		// and the plan compares the patterns as written.
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(fd.Rules); err != nil {
			return appSpec{}, err
		}
		settings[SettingRules] = strings.TrimSpace(b.String())
	}
	return appSpec{rtName: rtName, rtVersion: rtVersion, memory: memory, guarded: guarded, settings: settings}, nil
}

func withResource(res string, err error) error {
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Resource == "" {
		pe.Resource = res
	}
	return err
}

func (d *deployer) pollOptions() *runtime.PollUntilDoneOptions {
	return &runtime.PollUntilDoneOptions{Frequency: 2 * time.Second}
}

// desiredSite is the function app's full definition (a PUT replaces it).
func (d *deployer) desiredSite(app string, fd providers.FunctionDeployment, rt armappservice.RuntimeName, version string, memory int, settings map[string]string) armappservice.Site {
	tags := map[string]*string{TagProject: to.Ptr(d.c.project), TagFunction: to.Ptr(fd.Name),
		TagMemory: to.Ptr(strconv.Itoa(fd.MemoryMB)), TagRuntime: to.Ptr(fd.Runtime)}
	sc := &armappservice.FunctionsScaleAndConcurrency{InstanceMemoryMB: to.Ptr(int32(memory)), MaximumInstanceCount: to.Ptr(int32(100))}
	if fd.Concurrency > 0 {
		sc.MaximumInstanceCount = to.Ptr(int32(fd.Concurrency))
		tags["evcli-max-instances"] = to.Ptr("set")
	}
	keys := slices.Sorted(maps.Keys(settings))
	var nv []*armappservice.NameValuePair
	for _, k := range keys {
		nv = append(nv, &armappservice.NameValuePair{Name: to.Ptr(k), Value: to.Ptr(settings[k])})
	}
	container := d.c.storage.resolve("https://{name}.blob.core.windows.net", d.c.names.StorageAccount()) + "/" + Container(app)
	return armappservice.Site{
		Location: to.Ptr(d.c.location),
		Kind:     to.Ptr("functionapp,linux"),
		Tags:     tags,
		// Its own identity: what the store writer reaches Cosmos DB with
		// (cosmosrole.go), and what a function can be given roles with.
		Identity: &armappservice.ManagedServiceIdentity{Type: to.Ptr(armappservice.ManagedServiceIdentityTypeSystemAssigned)},
		Properties: &armappservice.SiteProperties{
			ServerFarmID: to.Ptr(d.planID(app)),
			HTTPSOnly:    to.Ptr(true),
			SiteConfig:   &armappservice.SiteConfig{AppSettings: nv},
			FunctionAppConfig: &armappservice.FunctionAppConfig{
				Deployment: &armappservice.FunctionsDeployment{Storage: &armappservice.FunctionsDeploymentStorage{
					Type:  to.Ptr(armappservice.FunctionsDeploymentStorageTypeBlobContainer),
					Value: to.Ptr(container),
					Authentication: &armappservice.FunctionsDeploymentStorageAuthentication{
						Type:                               to.Ptr(armappservice.AuthenticationTypeStorageAccountConnectionString),
						StorageAccountConnectionStringName: to.Ptr(settingDeployment),
					},
				}},
				Runtime:             &armappservice.FunctionsRuntime{Name: to.Ptr(rt), Version: to.Ptr(version)},
				ScaleAndConcurrency: sc,
			},
		},
	}
}

func (d *deployer) planID(app string) string {
	return "/subscriptions/" + d.c.subscription + "/resourceGroups/" + d.rg() + "/providers/Microsoft.Web/serverfarms/" + app
}

// createPlan makes the app's Flex Consumption plan (FC1; one app each).
func (d *deployer) createPlan(ctx context.Context, app string) error {
	plan := armappservice.Plan{
		Location:   to.Ptr(d.c.location),
		Kind:       to.Ptr("functionapp"),
		SKU:        &armappservice.SKUDescription{Name: to.Ptr("FC1"), Tier: to.Ptr("FlexConsumption")},
		Properties: &armappservice.PlanProperties{Reserved: to.Ptr(true)},
		Tags:       map[string]*string{TagProject: to.Ptr(d.c.project)},
	}
	poller, err := d.plans.BeginCreateOrUpdate(ctx, d.rg(), app, plan, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, d.pollOptions())
	}
	return classify("plan "+app, err)
}

// DeleteFunction removes the function's event subscriptions, its app, its
// plan and its deployment container. A function that is not there is
// already deleted.
func (d *deployer) DeleteFunction(ctx context.Context, name string) error {
	app := d.c.names.App(name)
	s, err := d.site(ctx, app)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if tag(s.Tags, TagProject) != d.c.project {
		return &providers.Error{Code: providers.NotFound, Resource: "function " + name, Err: errors.New("no function of this project has that name")}
	}
	st, err := d.settings(ctx, app)
	if err != nil {
		return err
	}
	var rules []providers.RuleSpec
	json.Unmarshal([]byte(st[SettingRules]), &rules)
	topics := map[string]bool{Topic(d.bus): true}
	for _, r := range rules {
		topics[Topic(r.Bus)] = true
	}
	for _, topic := range slices.Sorted(maps.Keys(topics)) {
		if err := d.deleteSubscriptions(ctx, topic, *s.ID, nil); err != nil {
			return err
		}
	}
	if _, err := d.sites.Delete(ctx, d.rg(), app, &armappservice.WebAppsClientDeleteOptions{DeleteEmptyServerFarm: to.Ptr(true)}); err != nil && !isNotFound(err) {
		return classify("function app "+app, err)
	}
	if _, err := d.plans.Delete(ctx, d.rg(), app, nil); err != nil && !isNotFound(err) {
		return classify("plan "+app, err)
	}
	return d.deleteContainer(ctx, Container(app))
}
