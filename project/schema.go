package project

import (
	"regexp"
	"sync"
)

// The values evcli.yaml accepts. They are shared with the commands that
// check flags against them (deploy --provider, tune memory).
var (
	Providers     = []string{"local", "aws", "gcp", "azure"}
	Runtimes      = []string{"provided.al2023", "nodejs20.x", "nodejs22.x", "python3.12", "python3.13"}
	Architectures = []string{"x86_64", "arm64"}
	StoreTypes    = []string{"local", "dynamodb", "firestore", "cosmos"}
	// HandlerKinds are the function signatures the handlers are written
	// for (evcli.yaml's handlers:): Lambda handlers, Cloud Functions
	// CloudEvent functions (Functions Framework), or Azure Functions with
	// an Event Grid trigger.
	HandlerKinds = []string{"aws", "gcp", "azure"}
)

// Limits of the numeric fields (Lambda's own limits).
const (
	MinMemoryMB    = 128
	MaxMemoryMB    = 10240
	MinTimeoutS    = 1
	MaxTimeoutS    = 900
	MinConcurrency = 1
	MaxConcurrency = 1000
	MaxTTLDays     = 36500

	DefaultMemoryMB = 128
	DefaultTimeoutS = 3
	// DefaultConcurrency is what the local runtime allows a function
	// whose evcli.yaml sets no concurrency; clouds reserve nothing then.
	DefaultConcurrency = 10
	DefaultBus         = "default"
	DefaultLocalRegion = "us-east-1"
	DefaultHandlerGo   = "bootstrap"
	// maxEnvironmentBytes is Lambda's limit on the total size of a
	// function's environment variables (names plus values).
	maxEnvironmentBytes = 4096
)

// DefaultStoreKeys are the attribute names of the event-sourcing layout when
// store.keys does not name them.
var DefaultStoreKeys = StoreKeys{
	Aggregate: "aggregateId",
	Sort:      "timestamp",
	ID:        "eventId",
	Type:      "eventType",
	Data:      "data",
	Version:   "version",
	TTL:       "expiresAt",
}

// defaultStoreType is the event store that goes with each provider when
// store.type is not given.
var defaultStoreType = map[string]string{
	"local": "local",
	"aws":   "dynamodb",
	"gcp":   "firestore",
	"azure": "cosmos",
}

// RuntimeFamily returns "provided", "nodejs" or "python" for a runtime, or
// "" for one evcli does not know.
func RuntimeFamily(runtime string) string {
	switch runtime {
	case "provided.al2023":
		return "provided"
	case "nodejs20.x", "nodejs22.x":
		return "nodejs"
	case "python3.12", "python3.13":
		return "python"
	}
	return ""
}

var (
	reProjectName  = lazyRegexp(`^[a-z][a-z0-9-]{0,62}$`)
	reFunctionName = lazyRegexp(`^[A-Za-z0-9_-]{1,64}$`)
	reRegion       = lazyRegexp(`^[a-z][a-z0-9-]{1,62}$`)
	// A Google Cloud project id, optionally domain-scoped (example.com:my-project).
	reGCPProject = lazyRegexp(`^([a-z][a-z0-9.-]{0,61}[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	// An Azure subscription id is a GUID; a resource group is 1 to 90
	// letters, digits, '_', '-', '.', '(' and ')', not ending in '.'.
	reAzureSubscription  = lazyRegexp(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
	reAzureResourceGroup = lazyRegexp(`^[A-Za-z0-9_.()-]{0,89}[A-Za-z0-9_()-]$`)
	reBusName            = lazyRegexp(`^[A-Za-z0-9._/-]{1,256}$`)
	reTableName          = lazyRegexp(`^[A-Za-z0-9._-]{3,255}$`)
	reAttrName           = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_.-]{0,254}$`)
	reEnvName            = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)
	reNodeHandler        = lazyRegexp(`^[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.[A-Za-z_$][A-Za-z0-9_$]*$`)
	rePyHandler          = lazyRegexp(`^[A-Za-z0-9_/-]+(\.[A-Za-z_][A-Za-z0-9_]*)+$`)
	reJSONPath           = lazyRegexp(`^\$((\.[A-Za-z0-9_$@-]+)|(\[[0-9]+\])|(\['[^']*'\])|(\["[^"]*"\]))*$`)
	reRoleARN            = lazyRegexp(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`)
)

// reservedEnv are the environment variable names Lambda sets itself and
// refuses in a function's configuration.
var reservedEnv = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true,
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

// The keys of each mapping, in the order SCHEMA.md documents them.
var (
	topKeys = []string{"project", "provider", "region", "bus", "handlers", "gcp", "azure", "store", "prices", "functions", "workflows"}
	gcpKeys = []string{"project", "guard"}
	// azureKeys are azure's keys; azure.resourceGroup is --resource-group.
	azureKeys = []string{"subscription", "resourceGroup", "location"}
	// GuardModes are the values of gcp.guard.
	GuardModes   = []string{"off", GuardInFunction}
	storeKeys    = []string{"type", "table", "keys", "ttlDays"}
	keysKeys     = []string{"aggregate", "sort", "id", "type", "data", "version", "ttl"}
	pricesKeys   = []string{"gbSecondX86", "gbSecondArm", "perMillionRequests"}
	functionKeys = []string{"source", "runtime", "handler", "architecture", "memory", "timeout",
		"concurrency", "environment", "secrets", "correlation", "role", "events"}
	eventKeys = []string{"bus", "pattern"}

	workflowKeys    = []string{"definition", "saga", "type", "correlation", "events"}
	sagaKeys        = []string{"steps", "success", "failure"}
	sagaStepKeys    = []string{"name", "function", "compensation", "catch", "retry"}
	sagaCompKeys    = []string{"name", "function"}
	sagaRetryKeys   = []string{"errors", "interval", "attempts", "backoff", "maxDelay", "jitter"}
	sagaFailureKeys = []string{"name", "error", "cause"}
	WorkflowTypes   = []string{"STANDARD", "EXPRESS"}
)

// lazyRegexp compiles expr on first use: the bounded repetitions above
// ({1,256} and the like) expand into large programs, and compiling them all
// at start-up cost every evcli command (even `evcli version`) about 1 MB and
// several milliseconds.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
