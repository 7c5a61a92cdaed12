package providers

import (
	"context"
	"encoding/json"
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
	// CodeSha256 is the artifact's SHA-256 in Lambda's base64 form.
	CodeSha256 string `json:"codeSha256"`
	// ArtifactPath is the zip to upload (desired state only).
	ArtifactPath string     `json:"-"`
	Correlation  string     `json:"correlation,omitempty"`
	Rules        []RuleSpec `json:"rules,omitempty"`
}

// RuleSpec is one event rule targeting a function.
type RuleSpec struct {
	ID      string          `json:"id"`
	Bus     string          `json:"bus"`
	Pattern json.RawMessage `json:"pattern"`
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
