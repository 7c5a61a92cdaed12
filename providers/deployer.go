package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// FunctionDeployment is one function as it is (Deployed) or should be
// (ApplyFunction) deployed, with its rules.
type FunctionDeployment struct {
	Name         string            `json:"name"`
	Runtime      string            `json:"runtime"`
	Handler      string            `json:"handler"`
	Architecture string            `json:"architecture"`
	MemoryMB     int               `json:"memoryMB"`
	TimeoutS     int               `json:"timeoutS"`
	Concurrency  int               `json:"concurrency"`
	Env          map[string]string `json:"-"` // may hold secret values: never printed or marshalled
	// SecretNames are the keys of Env whose values are secret.
	SecretNames []string `json:"secretNames,omitempty"`
	// SecretHashes are keyed hashes of the secret values, by name, from a
	// deployer that keeps no readable values (SecretHasher): set (maybe
	// empty) on the deployed side, the plan compares these instead of Env
	// for secrets. Never printed or marshalled.
	SecretHashes map[string]string `json:"-"`
	// CodeSha256 is the artifact's SHA-256 in Lambda's base64 form.
	CodeSha256 string `json:"codeSha256"`
	// ArtifactPath is the zip to upload (desired state only).
	ArtifactPath string `json:"-"`
	Correlation  string `json:"correlation,omitempty"`
	// Role is the execution role ARN given in evcli.yaml; empty lets the
	// driver create one with the least privileges the function needs.
	Role  string     `json:"role,omitempty"`
	Rules []RuleSpec `json:"rules,omitempty"`
	// PhysicalName is the provider's own name for the function when it
	// differs from Name (AWS: <project>-<name>): on a deployed function the
	// name it was found under, on a desired one the name it should have
	// (filled from the driver's Namer). "" where the driver uses Name.
	PhysicalName string `json:"physicalName,omitempty"`
	// Drift names, on a deployed function, what the driver found differing
	// from what it makes among the resources evcli owns for the function
	// that the fields above do not carry: the execution role's trust or
	// policies, its log group's retention, a rule disabled outside evcli.
	// The plan shows each as a change; ApplyFunction converges them.
	Drift []string `json:"drift,omitempty"`
	// Replaces is, on a desired function, the physical name of a deployment
	// of it under an earlier naming: ApplyFunction moves its rules to the
	// new function and deletes it (desired state only).
	Replaces string `json:"-"`
	// Earlier is, on a deployed function, the physical name of a
	// deployment of it under an earlier naming that still exists next to
	// the current one (a migration stopped before it deleted the earlier
	// function): the plan retires it (Replaces).
	Earlier string `json:"-"`
}

// Namer is implemented by deployers whose physical names differ from the
// names in evcli.yaml: the plan compares them and says "rename" when a
// function was deployed under an earlier naming.
type Namer interface {
	PhysicalName(function string) string
}

// RuleSpec is one event rule targeting a function.
type RuleSpec struct {
	ID      string          `json:"id"`
	Bus     string          `json:"bus"`
	Pattern json.RawMessage `json:"pattern"`
	// Where is where the pattern is written, for messages (nil when it
	// was not read from a project file).
	Where *RulePlace `json:"-"`
}

// RulePlace is where a rule's pattern stands in the project file.
type RulePlace struct {
	File      string
	Line, Col int
	// Members are the places ({line, col}) of the pattern's keys, by
	// their path from the top with lists passed through, each key escaped
	// as in a JSON pointer (~ as ~0, / as ~1) and joined with / (as
	// project.MemberPath): "detail/amount/numeric".
	Members map[string][2]int
}

// PosOf is "file:line:col" of the pattern member at keys (the deepest of
// its prefixes that Members knows, else the pattern itself), or "" when p
// is nil.
func (p *RulePlace) PosOf(keys ...string) string {
	if p == nil {
		return ""
	}
	for n := len(keys); n > 0; n-- {
		parts := make([]string, n)
		for i, k := range keys[:n] {
			parts[i] = strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
		}
		if lc, ok := p.Members[strings.Join(parts, "/")]; ok {
			return fmt.Sprintf("%s:%d:%d", p.File, lc[0], lc[1])
		}
	}
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// RuleChecker is implemented by deployers that cannot deploy every valid
// pattern as written (a cloud whose filters enforce less than the
// pattern language, without the user's opt-in to a guard). Deploy calls
// it with the desired functions before it plans or writes anything; the
// error names each rule's place (RuleSpec.Where) and what would be right.
type RuleChecker interface {
	CheckRules(fds []FunctionDeployment) error
}

// Deployer reads and changes what a provider has deployed for a project.
type Deployer interface {
	// Deployed returns the functions this project has deployed.
	Deployed(ctx context.Context) ([]FunctionDeployment, error)
	// ApplyFunction creates or updates one function and its rules so that
	// it matches fd. codeChanged says whether the code must be uploaded.
	// step reports progress ("upload code", "update configuration", ...).
	ApplyFunction(ctx context.Context, fd FunctionDeployment, codeChanged bool, step func(string)) error
	// DeleteFunction removes a function and its rules.
	DeleteFunction(ctx context.Context, name string) error
}

// SecretHasher is implemented by deployers whose Deployed reports secrets
// as SecretHashes rather than values: it hashes desired values the same
// way, so that a plan compares hashes, never values.
type SecretHasher interface {
	HashSecrets(ctx context.Context, values map[string]string) (map[string]string, error)
}

// NamedReader is implemented by deployers that can read some functions
// without listing all of them (deploy --function on a cloud with many).
type NamedReader interface {
	DeployedFunctions(ctx context.Context, names []string) ([]FunctionDeployment, error)
}

// ResourceChange is the plan for one project-level resource a driver deploys
// besides functions: the event bus, the event-store table.
type ResourceChange struct {
	Kind   string   `json:"kind"` // "bus", "table"
	Name   string   `json:"name"`
	Action string   `json:"action"` // "create", "update", "unchanged", "delete"
	Fields []string `json:"fields,omitempty"`
}

// SharedDeployer is implemented by drivers with project-level resources.
// The command plans and applies them before the functions (whose rules and
// roles refer to them).
type SharedDeployer interface {
	// PlanShared reads what exists and says what ApplyShared would do.
	PlanShared(ctx context.Context, prune bool) ([]ResourceChange, error)
	// ApplyShared carries out changes; step reports progress per resource.
	ApplyShared(ctx context.Context, changes []ResourceChange, step func(resource, step string)) error
}

// Rollbacker moves a function's live alias back to an earlier version.
type Rollbacker interface {
	// Rollback points the live alias of function at toVersion, or at the
	// version before the current one when toVersion is empty, and returns
	// the versions it moved from and to.
	Rollback(ctx context.Context, function, toVersion string) (from, to string, err error)
}
