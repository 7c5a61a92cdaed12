package azure

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/tune"
)

// Settings. The subscription, resource group and location are Azure's own
// variables (the Azure CLI and azd read them too); OpenOptions.Subscription,
// ResourceGroup and Location (else Region) take precedence.
const (
	envSubscription  = "AZURE_SUBSCRIPTION_ID"
	envResourceGroup = "AZURE_RESOURCE_GROUP"
	envLocation      = "AZURE_LOCATION"
)

// Endpoint variables: one per service, each a URL. A URL with {name} in
// it is a template for per-resource hosts (a function app's SCM site, an
// Event Grid topic): https://{name}.scm.chinacloudsites.cn; a URL without
// it is a base to which /{name} is appended, as fakes and emulators on
// this machine serve every resource under one address. http:// URLs are
// taken as a fake or emulator: no credentials are looked up and a
// placeholder token is sent. OpenOptions.Endpoint (--endpoint) sets every
// service that has no variable of its own.
const (
	EnvARMEndpoint       = "EVCLI_AZURE_ARM_ENDPOINT"       // Azure Resource Manager (management.azure.com)
	EnvSCMEndpoint       = "EVCLI_AZURE_SCM_ENDPOINT"       // a function app's SCM (Kudu) site: OneDeploy
	EnvFunctionsEndpoint = "EVCLI_AZURE_FUNCTIONS_ENDPOINT" // a function app's host: invoke
	EnvEventGridEndpoint = "EVCLI_AZURE_EVENTGRID_ENDPOINT" // a topic's data plane: send
	EnvCosmosEndpoint    = "EVCLI_AZURE_COSMOS_ENDPOINT"    // the event store's Cosmos DB account
	EnvStorageEndpoint   = "EVCLI_AZURE_STORAGE_ENDPOINT"   // Blob storage (deployment containers)
	EnvLogsEndpoint      = "EVCLI_AZURE_LOGS_ENDPOINT"      // Log Analytics (tail, tune's per-invocation records)
	EnvMetricsEndpoint   = "EVCLI_AZURE_METRICS_ENDPOINT"   // Azure Monitor metrics (tune): default https://<location>.metrics.monitor.azure.com
)

// EnvGuard opts a project into the in-function guard: a rule whose pattern
// Event Grid's filters cannot enforce whole is deployed only when it is
// "in-function", which says the function's entrypoint matches the whole
// pattern (the rules are in its EVCLI_RULES app setting) and returns
// success without running the handler for what does not match.
const EnvGuard = "EVCLI_AZURE_GUARD"

// credentialsHint is the fix for missing or unusable credentials.
const credentialsHint = `run "az login", or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET (a service principal), or use a managed or workload identity`

// endpoint is where one service is reached: "" is Azure's public cloud.
type endpoint struct {
	url string
	// plain: http:// (a fake or emulator): no TLS, a placeholder token.
	plain bool
}

func (e endpoint) String() string {
	switch {
	case e.url == "":
		return "Azure"
	case e.plain:
		return e.url + " (plaintext, no credentials)"
	}
	return e.url
}

// resolve is the URL of the named resource's host under e, or def (a
// template with {name}) when e is not set.
func (e endpoint) resolve(def, name string) string {
	t := e.url
	if t == "" {
		t = def
	}
	if strings.Contains(t, "{name}") {
		return strings.ReplaceAll(t, "{name}", name)
	}
	return strings.TrimRight(t, "/") + "/" + name
}

// config is what Open settles once for every ability. The event store,
// tail and metrics read cosmos, storage and logs.
type config struct {
	subscription, resourceGroup, location string
	project                               string
	cred                                  azcore.TokenCredential
	arm, scm, functions, eventGrid        endpoint
	cosmos, storage, logs, metrics        endpoint
	armOptions                            *arm.ClientOptions
	http                                  *http.Client
	getenv                                func(string) string
	guard                                 bool
	sleep                                 func(context.Context, time.Duration) error
	names                                 Namer
	// transports reach the data planes' SDK clients by service ("cosmos",
	// "logs", "metrics"): tests' fakes with their own certificates.
	transports map[string]policy.Transporter
}

// Open opens the Azure provider: the subscription from
// OpenOptions.Subscription or AZURE_SUBSCRIPTION_ID, the resource group
// from OpenOptions.ResourceGroup or AZURE_RESOURCE_GROUP, the location
// from OpenOptions.Location, Region or AZURE_LOCATION (needed only to create), and
// azidentity's DefaultAzureCredential (environment, workload identity,
// managed identity, Azure CLI, Azure Developer CLI) unless every service
// it reaches is a fake or emulator (http:// endpoints). A missing
// subscription or resource group is Unconfigured, unusable credentials
// Unauthenticated, each with the fix and exit 4, before any work starts;
// credentials found but refused surface on the first call, classified the
// same way. Neither credentials nor app setting values are ever printed,
// not even to o.Debug.
//
// The event store (Cosmos DB, store.type cosmos), tail (Application
// Insights through Log Analytics queries) and tune's metrics (Azure
// Monitor) are opened without a call; see openData.
func Open(ctx context.Context, o providers.OpenOptions) (*providers.Provider, error) {
	return open(ctx, o, nil)
}

// open is Open with the data planes' transports (tests).
func open(ctx context.Context, o providers.OpenOptions, transports map[string]policy.Transporter) (*providers.Provider, error) {
	if o.Store.Type != "" && o.Store.Type != "cosmos" && o.Store.Type != "local" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "azure",
			Err:  fmt.Errorf("the azure provider reads a cosmos event store; evcli.yaml's store.type is %q", o.Store.Type),
			Hint: "set store.type to cosmos, or remove the store section"}
	}
	if o.ArtifactBucket != "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "azure",
			Err:  errors.New("--artifact-bucket is not used on azure: each function app has its own deployment container in the project's storage account"),
			Hint: "leave out --artifact-bucket"}
	}
	p := &providers.Provider{Name: "azure", Missing: map[providers.Ability]string{
		providers.AbilityWait:     "Event Grid delivers to Azure Functions asynchronously; follow the deliveries with evcli tail",
		providers.AbilityServe:    "it runs in the cloud; use the local provider to serve functions on this machine",
		providers.AbilityState:    "the azure driver keeps no state on this machine (replay checkpoints are project-local state)",
		providers.AbilityRollback: "Flex Consumption apps have no deployment slots or versions to move back to; deploy the earlier code again",
		providers.AbilityRoute:    "this evcli build's azure driver does not evaluate routes from the deployed event subscriptions yet",
		// Not built yet: said as such, never as a limit of Azure.
		providers.AbilityProbe:    "not built yet: this evcli build's azure driver does not probe instance memory sizes",
		providers.AbilityWorkflow: "not built yet: this evcli build does not deploy workflows to Azure (Durable Functions or Logic Apps); run them on the local provider",
	}}
	p.Prices = tune.FlexPrices(cmp.Or(o.Location, o.Region))
	if o.Offline {
		for _, a := range []providers.Ability{providers.AbilityDeploy, providers.AbilityPublish, providers.AbilityInvoke,
			providers.AbilityStore, providers.AbilityLogs, providers.AbilityMetrics, providers.AbilityMemory} {
			p.Missing[a] = "it needs Azure (or its fakes) and this command runs offline"
		}
		p.Exporter = newExporter(nil, o)
		return p, nil
	}
	c, err := configure(ctx, o)
	if err != nil {
		return nil, err
	}
	c.transports = transports
	p.Prices = tune.FlexPrices(c.location)
	o.Debugf("azure: subscription %s, resource group %s, location %q; ARM at %s, SCM at %s, function hosts at %s, Event Grid at %s",
		c.subscription, c.resourceGroup, c.location, c.arm, c.scm, c.functions, c.eventGrid)
	d, err := newDeployer(c, o)
	if err != nil {
		return nil, err
	}
	p.Deployer, p.Shared, p.Invoker, p.Memory = d, d, d, d
	p.Exporter = newExporter(c, o)
	p.Bus, p.BusLimits = newBus(c, d), PublishLimits
	if err := openData(ctx, c, o, p, d); err != nil {
		return nil, err
	}
	return p, nil
}

// configure settles the subscription, resource group, endpoints and
// credentials.
func configure(ctx context.Context, o providers.OpenOptions) (*config, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	c := &config{subscription: o.Subscription, resourceGroup: o.ResourceGroup, location: cmp.Or(o.Location, o.Region),
		project: o.Project, getenv: getenv, http: http.DefaultClient, guard: getenv(EnvGuard) == "in-function" || o.InFunctionGuard, sleep: o.Sleep}
	if c.sleep == nil {
		c.sleep = providers.Sleep
	}
	if c.subscription == "" {
		c.subscription = getenv(envSubscription)
	}
	if c.resourceGroup == "" {
		c.resourceGroup = getenv(envResourceGroup)
	}
	if c.location == "" {
		c.location = getenv(envLocation)
	}
	var err error
	all := endpoint{}
	if o.Endpoint != "" {
		if all, err = parseEndpoint("--endpoint", o.Endpoint); err != nil {
			return nil, err
		}
	}
	for _, e := range []struct {
		dst *endpoint
		env string
	}{{&c.arm, EnvARMEndpoint}, {&c.scm, EnvSCMEndpoint}, {&c.functions, EnvFunctionsEndpoint}, {&c.eventGrid, EnvEventGridEndpoint},
		{&c.cosmos, EnvCosmosEndpoint}, {&c.storage, EnvStorageEndpoint}, {&c.logs, EnvLogsEndpoint}, {&c.metrics, EnvMetricsEndpoint}} {
		*e.dst = all
		if v := getenv(e.env); v != "" {
			if *e.dst, err = parseEndpoint(e.env, v); err != nil {
				return nil, err
			}
		}
	}
	if c.subscription == "" {
		return nil, &providers.Error{Code: providers.Unconfigured, Resource: "azure",
			Err:  errors.New("no Azure subscription is set"),
			Hint: "pass --subscription, set azure.subscription in evcli.yaml or " + envSubscription + " to the subscription id (az account show --query id -o tsv prints the current one)"}
	}
	if c.resourceGroup == "" {
		return nil, &providers.Error{Code: providers.Unconfigured, Resource: "azure",
			Err:  errors.New("no resource group is set"),
			Hint: "pass --resource-group, set azure.resourceGroup in evcli.yaml or " + envResourceGroup + " to the resource group to deploy into (az group create -n NAME -l LOCATION makes one)"}
	}
	c.names = Namer{Subscription: c.subscription, ResourceGroup: c.resourceGroup, Project: o.Project}

	opts := &arm.ClientOptions{}
	opts.Retry = policy.RetryOptions{MaxRetries: 4, MaxRetryDelay: 30 * time.Second}
	if c.arm.url != "" {
		opts.Cloud = cloud.Configuration{
			ActiveDirectoryAuthorityHost: cloud.AzurePublic.ActiveDirectoryAuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: c.arm.url, Audience: "https://management.azure.com"},
			},
		}
	}
	if c.arm.plain {
		// A fake or emulator on this machine: no credentials to look up.
		opts.InsecureAllowCredentialWithHTTP = true
		opts.DisableRPRegistration = true
		c.cred = placeholderCredential{}
	} else {
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			o.Debugf("azure credentials: %v", err)
			return nil, &providers.Error{Code: providers.Unauthenticated, Resource: "azure",
				Err: errors.New("no Azure credentials found"), Hint: credentialsHint}
		}
		c.cred = classifiedCredential{cred}
	}
	c.armOptions = opts
	return c, nil
}

// token is a bearer token for scope, for the plain HTTP calls (SCM, Event
// Grid's data plane).
func (c *config) token(ctx context.Context, scope string) (string, error) {
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return "", err
	}
	return tok.Token, nil
}

// placeholderCredential is the token a fake or emulator is sent.
type placeholderCredential struct{}

func (placeholderCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "evcli-emulator", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// classifiedCredential makes a credential's failure Unauthenticated, with
// the fix, wherever it surfaces.
type classifiedCredential struct{ azcore.TokenCredential }

func (c classifiedCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.TokenCredential.GetToken(ctx, o)
	if err != nil && ctx.Err() == nil {
		return tok, &providers.Error{Code: providers.Unauthenticated, Resource: "azure credentials", Err: err, Hint: credentialsHint}
	}
	return tok, err
}

// parseEndpoint reads an endpoint override: an http:// or https:// URL,
// maybe with {name} in its host.
func parseEndpoint(from, s string) (endpoint, error) {
	u, err := url.Parse(strings.ReplaceAll(s, "{name}", "name"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return endpoint{}, &providers.Error{Code: providers.InvalidArgument, Resource: "azure",
			Err:  fmt.Errorf("%s: %q is not an http:// or https:// URL", from, s),
			Hint: "write it as http://127.0.0.1:PORT for a fake or emulator on this machine, or https://{name}.HOST for a sovereign cloud"}
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return endpoint{}, &providers.Error{Code: providers.InvalidArgument, Resource: "azure",
			Err:  fmt.Errorf("%s: %q is plaintext HTTP to another machine", from, s),
			Hint: "use http:// only for a fake or emulator on this machine (127.0.0.1, localhost); other endpoints need https://"}
	}
	return endpoint{url: strings.TrimRight(s, "/"), plain: u.Scheme == "http"}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
