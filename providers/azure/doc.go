// Package azure is evcli's Azure driver: Azure Functions on the Flex
// Consumption plan, Event Grid custom topics (CloudEvents 1.0) and event
// subscriptions, through the Azure SDK for Go (azcore, azidentity,
// armappservice/v6, armeventgrid/v2).
//
// Open (open.go) settles the subscription (OpenOptions.Subscription or
// AZURE_SUBSCRIPTION_ID), the resource group (OpenOptions.ResourceGroup or
// AZURE_RESOURCE_GROUP), the location (OpenOptions.Location, Region or
// AZURE_LOCATION, needed only to create) and azidentity's
// DefaultAzureCredential (environment, workload identity, managed
// identity, Azure CLI): a missing one is Unconfigured or Unauthenticated
// with the fix, exit 4. Every service has an endpoint variable
// (EVCLI_AZURE_{ARM,SCM,FUNCTIONS,EVENTGRID,COSMOS,STORAGE,LOGS}_ENDPOINT;
// --endpoint sets those not given): a URL with {name} is a per-resource
// host template (sovereign clouds), one without is a base under which
// /{name} is appended (fakes, emulators); http:// is allowed on loopback
// only and sends a placeholder token instead of looking up credentials.
//
// Deployer (deployer*.go): one function app per evcli function, named
// <project>-<fn>-<hash of subscription, group and project> (app names are
// global host names), each on its own Flex Consumption plan (Flex hosts
// one app per plan) with instance memory the smallest of 512, 2048 and
// 4096 MB that holds evcli.yaml's memory (the asked value is the tag
// evcli-memory, so the plan compares what the user wrote); the project's
// storage account (ev<project><hash>, 3–24 lower-case characters) holds
// each app's deployment container (app-package-<app>). ApplyFunction PUTs
// the app (configuration and app settings: the environment, the
// functionTimeout host setting, evcli's EVCLI_* settings), publishes the
// deterministic zip through OneDeploy (POST /api/publish on the SCM site,
// following the deployment's status) only when the code changed, then sets
// EVCLI_CODE_SHA256 to the new hash, so a failed publish leaves the old
// hash and the next plan publishes again. Deployed reads with one listing
// of the group (the evcli-project tag), one settings read per app (in
// parallel) and one subscription listing per topic: a deploy that changes
// nothing makes no write. PlanShared creates the storage account, the
// project's Log Analytics workspace (<project>-logs) and workspace-based
// Application Insights component (<project>-insights; insights.go) and the
// bus's topic, and never deletes them (a bus is shared by the projects
// that name it); every app gets the component's connection string as
// APPLICATIONINSIGHTS_CONNECTION_STRING (never printed), and an app
// without it is drift the next deploy repairs.
//
// Rules (eventgrid.go): each rule is an event subscription on the bus's
// topic delivering to the app's Event Grid–triggered function
// (EventsFunction), with the pattern translated into Event Grid's own
// filters; see Translate for the table and where Event Grid's semantics
// differ from EventBridge's. A pattern Event Grid cannot enforce
// (wildcard, cidr, $or, mixed operators on a field, over the limits) is
// refused before any call (Unsupported, exit 2) — and by CheckPatterns with
// the pattern's file:line:col — unless EVCLI_AZURE_GUARD=in-function, when
// the enforceable part is deployed and the app's entrypoint applies the
// whole pattern (EVCLI_RULES, EVCLI_GUARD) — in Node.js functions only: a
// Python or Go one is refused even then.
//
// Entrypoint (entry.go): the zip deploy publishes is the function's own
// with evcli's entrypoint added, which registers EventsFunction and the
// InvokeRoute's function around the handler the code registers (Node.js:
// evcli_entry.js, with the guard's WebAssembly engine when guarded;
// Python: evcli_entry.py, named by PYTHON_SCRIPT_FILE_NAME; a custom
// handler: events/ and evcli-invoke/function.json, served by the handler)
// and a manifest, .evcli/entry.json. Code registering more than one Event
// Grid function is refused (InvalidArgument) naming the file, before any
// call.
//
// Bus (publish.go): Publish sends a CloudEvents batch (source, type = the
// detail-type, data = the detail) to the topic's data plane, splitting a
// batch over 1 MB; an entry that cannot be a CloudEvent fails at its index
// (InvalidArgument) and the others go; a 429 or 5xx fails the call
// (Throttled, Unavailable) for PublishAll to retry.
//
// Invoker (invoke.go): POSTs the payload to the app's InvokeRoute with the
// default host key; a 500 is a FunctionError.
//
// Errors (errors.go): one classifier maps ARM's and the data planes' HTTP
// statuses and error codes to portable codes, with hints for the ones
// users act on. The SDK's pipeline retries ARM's 429 and 5xx honouring
// Retry-After; OneDeploy's 409 (a deployment in progress) and 429 are
// retried by the driver.
//
// Data (open_data.go): Open opens, without a call, the Cosmos DB event
// store (store.type cosmos at EVCLI_AZURE_COSMOS_ENDPOINT; store.go), whose
// container and writer (writer.go: a Node app with an Event Grid
// subscription to the bus) the deployer plans and applies with the shared
// resources; tail (logs.go) from the project's Application Insights
// component (<project>-insights), selecting by function app
// (cloud_RoleName), the host's "Executed ..." trace given as the portable
// REPORT line; tune's records (metrics.go) from App Insights' requests and
// Azure Monitor's app metrics. A setting that leaves one unusable (no
// Cosmos endpoint, no location for metrics) is Missing with the fix.
// Invoke's LogTail is the invocation's lines App Insights already holds.
// tune memory --apply (memory.go) moves the app to the Flex size that
// holds the new memory. Deploy asks CheckRules (providers.RuleChecker)
// before it plans: an unenforceable pattern is refused at its place.
//
// Every app has a system-assigned managed identity; the store writer's is
// given Cosmos DB Built-in Data Contributor on the store's database
// (cosmosrole.go: a sqlRoleAssignment named from the scope and principal,
// planned with the shared resources, on the account EVCLI_AZURE_COSMOS_ACCOUNT
// names or the endpoint's host; none for an emulator).
//
// Not in this package yet: rollback (Flex Consumption has no slots);
// probes.
//
// Export (export.go): Terraform for the azurerm provider from the
// deployer's own desired state (appSpec, desiredSite, subscription), with
// no credentials and no call; export_agree_test.go deploys each template to
// the fake and compares it with the export resource by resource.
//
// aztest is the fake every test runs against: ARM, SCM, the function hosts
// and Event Grid's data plane on one 127.0.0.1 server, and Log Analytics'
// query API and Azure Monitor's metrics on two more; the store runs
// against @vercel/cosmosdb-server (internal/testenv).
package azure
