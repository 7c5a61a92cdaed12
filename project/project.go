package project

import "encoding/json"

// DefaultFile is the project file evcli reads when -f is not given.
const DefaultFile = "evcli.yaml"

// Project is a loaded, validated evcli.yaml (with flag and EVCLI_* env
// overrides applied).
type Project struct {
	// Path is the file it was loaded from; Dir its directory. Function
	// sources are relative to Dir.
	Path string `json:"-"`
	Dir  string `json:"-"`

	Name     string `json:"project"`
	Provider string `json:"provider"` // local|aws|gcp|azure; default local
	Region   string `json:"region"`
	Bus      string `json:"bus"` // event bus name; default "default"
	// Handlers is the signature the function code is written for: "aws"
	// (Lambda handlers; the default), "gcp" (CloudEvent functions of the
	// Functions Framework) or "azure" (Event Grid-triggered Azure
	// Functions). Load sets the variables that tell the runtime which
	// (see HandlerEnv) in every function's Environment.
	Handlers  string      `json:"handlers,omitempty"`
	Store     EventStore  `json:"store"`
	GCP       GCP         `json:"gcp,omitempty"`
	Azure     Azure       `json:"azure,omitempty"`
	Functions []Function  `json:"functions"` // in file order
	Workflows []Workflow  `json:"workflows,omitempty"`
	Prices    *PriceTable `json:"prices,omitempty"`
}

// Function is one function of the project.
type Function struct {
	Name         string            `json:"name"`
	Source       string            `json:"source"`  // directory, relative to the project dir
	Runtime      string            `json:"runtime"` // provided.al2023|nodejs20.x|nodejs22.x|python3.12|python3.13
	Handler      string            `json:"handler"`
	Architecture string            `json:"architecture"` // x86_64|arm64; default x86_64
	MemoryMB     int               `json:"memory"`       // 128..10240; default 128
	TimeoutS     int               `json:"timeout"`      // 1..900; default 3
	Concurrency  int               `json:"concurrency"`  // reserved concurrency; 0 = not set (no reservation on a cloud, 10 instances locally)
	Environment  map[string]string `json:"environment,omitempty"`
	Secrets      []string          `json:"secrets,omitempty"` // names of secret environment variables, values never printed
	Events       []EventSource     `json:"events,omitempty"`
	Correlation  string            `json:"correlation,omitempty"` // JSON path of the correlation id in the function's log lines/events
	Role         string            `json:"role,omitempty"`        // AWS only: execution role ARN
}

// EventSource is one trigger of a function: an EventBridge-style pattern on a bus.
type EventSource struct {
	Bus     string          `json:"bus"`
	Pattern json.RawMessage `json:"pattern"` // JSON object
	// Pos is where the pattern stands in the project file, for messages.
	Pos Pos `json:"-"`
	// Members are where the pattern's keys stand in the file, by
	// MemberPath (the keys from the top, lists passed through: the
	// numeric operator of detail.amount is detail/amount/numeric); the
	// first of a key that repeats. nil when the file does not say (a JSON
	// string with escapes or folded lines).
	Members map[string]Pos `json:"-"`
}

// Pos is a position in the project file (1-based).
type Pos struct {
	Line, Col int
}

// GCP holds the settings only Google Cloud reads.
type GCP struct {
	// Project is the Google Cloud project id to deploy into ("" = the
	// environment's: GOOGLE_CLOUD_PROJECT, then the credentials').
	Project string `json:"project,omitempty"`
	// Guard is "in-function" when the project opts into evcli's
	// in-function guard for patterns Pub/Sub filters cannot enforce; ""
	// (or "off") refuses such patterns at deploy.
	Guard string `json:"guard,omitempty"`
}

// Azure holds the settings only Azure reads.
type Azure struct {
	// Subscription is the subscription id to deploy into ("" = the
	// environment's: AZURE_SUBSCRIPTION_ID).
	Subscription string `json:"subscription,omitempty"`
	// ResourceGroup is the resource group to deploy into ("" =
	// AZURE_RESOURCE_GROUP).
	ResourceGroup string `json:"resourceGroup,omitempty"`
	// Location is the Azure region resources are created in ("" = the
	// project's region, then AZURE_LOCATION). --region beats it.
	Location string `json:"location,omitempty"`
}

// GuardInFunction is GCP.Guard's opt-in value.
const GuardInFunction = "in-function"

// EventStore configures where events are stored.
type EventStore struct {
	Type    string    `json:"type"` // local|dynamodb|firestore|cosmos; default local
	Table   string    `json:"table"`
	Keys    StoreKeys `json:"keys"`
	TTLDays int       `json:"ttlDays,omitempty"`
}

// StoreKeys names the attributes of the event-sourcing layout.
type StoreKeys struct {
	Aggregate string `json:"aggregate"` // partition key; default aggregateId
	Sort      string `json:"sort"`      // sort key; default timestamp
	ID        string `json:"id"`        // default eventId
	Type      string `json:"type"`      // default eventType
	Data      string `json:"data"`      // default data
	Version   string `json:"version"`   // default version
	TTL       string `json:"ttl"`       // default expiresAt
}

// PriceTable overrides the embedded Lambda price table (tune memory).
type PriceTable struct {
	GBSecondX86   float64 `json:"gbSecondX86,omitempty"`
	GBSecondArm   float64 `json:"gbSecondArm,omitempty"`
	PerMillionReq float64 `json:"perMillionRequests,omitempty"`
}

// Workflow is one orchestrated workflow: an Amazon States Language state
// machine whose Tasks call the project's functions.
type Workflow struct {
	Name string `json:"name"`
	// Type is STANDARD (the default) or EXPRESS, as Step Functions has them.
	Type string `json:"type"`
	// DefinitionFile is the ASL file, relative to the project dir; "" for
	// the short saga: form.
	DefinitionFile string `json:"definition,omitempty"`
	// Definition is the validated ASL: the file as written, or the saga:
	// form compiled into the seed's shape. Tasks name functions as
	// ${function:NAME} (or plain names, or Lambda ARNs).
	Definition json.RawMessage `json:"-"`
	// Correlation is a JSON path into the execution input whose value is
	// its correlation id (tail groups the execution with its functions).
	Correlation string `json:"correlation,omitempty"`
	// Events start an execution, with the event as its input
	// (EventBridge rules targeting the state machine).
	Events []EventSource `json:"events,omitempty"`
	Pos    Pos           `json:"-"`
}

// Workflow returns the workflow named name, or nil.
func (p *Project) Workflow(name string) *Workflow {
	for i := range p.Workflows {
		if p.Workflows[i].Name == name {
			return &p.Workflows[i]
		}
	}
	return nil
}

// Function returns the function named name, or nil.
func (p *Project) Function(name string) *Function {
	for i := range p.Functions {
		if p.Functions[i].Name == name {
			return &p.Functions[i]
		}
	}
	return nil
}
