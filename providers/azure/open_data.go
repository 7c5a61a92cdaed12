package azure

import (
	"context"
	"errors"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/azcosmos"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azmetrics"

	"github.com/evcli/evcli/providers"
)

// openData opens the data side on p without a call: the event store
// (store.type cosmos at EVCLI_AZURE_COSMOS_ENDPOINT, which the deployer
// then includes: its container and the writer that fills it from the
// bus), tail (the project's Application Insights component through
// EVCLI_AZURE_LOGS_ENDPOINT or Log Analytics' public endpoint) and tune's
// metrics (Azure Monitor at EVCLI_AZURE_METRICS_ENDPOINT or the location's
// regional endpoint, with App Insights' requests as the per-invocation
// records). What the settings leave unusable is Missing with the fix, not
// an error: the other commands still run.
func openData(_ context.Context, c *config, o providers.OpenOptions, p *providers.Provider, d *deployer) error {
	opts := func(svc string, e endpoint) azcore.ClientOptions {
		co := azcore.ClientOptions{Transport: c.transports[svc], InsecureAllowCredentialWithHTTP: e.plain}
		return co
	}

	// The event store.
	cfg, ok, err := cosmosConfigFor(o, strings.ReplaceAll(c.cosmos.url, "{name}", c.names.StorageAccount()), c.cred)
	switch {
	case err != nil && providers.CodeOf(err) == providers.Unconfigured:
		p.Missing[providers.AbilityStore] = err.Error() + ": " + hintOf(err)
	case err != nil:
		return err
	case !ok:
		p.Missing[providers.AbilityStore] = "the project has no Cosmos DB event store: set store.type: cosmos in evcli.yaml (and " + EnvCosmosEndpoint + " to the account's endpoint)"
	default:
		cfg.ClientOptions = &azcosmos.ClientOptions{ClientOptions: opts("cosmos", c.cosmos)}
		s, err := newCosmosStore(context.Background(), cfg)
		if err != nil {
			return err
		}
		w, err := storeWriter(cfg, o.Bus)
		if err != nil {
			return err
		}
		p.Store, d.store, d.writer = s, s, &w
	}

	// Tail: the Application Insights component every app reports to.
	component := "/subscriptions/" + c.subscription + "/resourceGroups/" + c.resourceGroup +
		"/providers/Microsoft.Insights/components/" + c.names.Insights()
	lo := azlogs.ClientOptions{ClientOptions: opts("logs", c.logs)}
	logs, err := newLogs(logsConfig{Credential: c.cred, Endpoint: c.logs.url, ResourceID: component,
		Physical: c.names.App, ByApp: true, Apps: d.appFunctions, Now: o.Now, Sleep: c.sleep, ClientOptions: &lo})
	if err != nil {
		return err
	}
	p.Logs, d.logs = logs, logs

	// Tune: the apps' metrics, per invocation from the requests table.
	mo := azmetrics.ClientOptions{ClientOptions: opts("metrics", c.metrics)}
	m, err := newMetrics(metricsConfig{Credential: c.cred, Endpoint: c.metrics.url, Region: c.location, SubscriptionID: c.subscription,
		App: func(fn string) string {
			return "/subscriptions/" + c.subscription + "/resourceGroups/" + c.resourceGroup + "/providers/Microsoft.Web/sites/" + c.names.App(fn)
		},
		InstanceMemoryMB: d.memoryOf, Requests: logs, Now: o.Now, Sleep: c.sleep, ClientOptions: &mo})
	switch {
	case err != nil && providers.CodeOf(err) == providers.Unconfigured:
		p.Missing[providers.AbilityMetrics] = err.Error() + ": " + hintOf(err)
	case err != nil:
		return err
	default:
		p.Metrics = m
	}
	return nil
}

// hintOf is a classified error's hint.
func hintOf(err error) string {
	var pe *providers.Error
	if errors.As(err, &pe) {
		return pe.Hint
	}
	return ""
}

// memoryOf is the memory a deployed function has (what evcli.yaml asked,
// as the plan compares it; its instance has the Flex size that holds it).
func (d *deployer) memoryOf(ctx context.Context, fn string) (int, error) {
	have, err := d.DeployedFunctions(ctx, []string{fn})
	if err != nil {
		return 0, err
	}
	if len(have) == 0 {
		return 0, &providers.Error{Code: providers.NotFound, Resource: "function " + fn, Err: errors.New("not deployed"),
			Hint: "deploy it first (evcli deploy)"}
	}
	return have[0].MemoryMB, nil
}
