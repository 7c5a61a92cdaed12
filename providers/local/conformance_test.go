package local_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local"
	"github.com/evcli/evcli/providers/providertest"
)

// TestConformance runs the provider conformance suite against the local
// driver: each check gets a fresh directory that holds one folder per
// project, and the Python handler of providertest.
func TestConformance(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not in PATH: the conformance handler is a Python function (install Python 3)")
	}
	providertest.Run(t, func(ctx context.Context, t *testing.T) (providertest.Harness, error) {
		return &harness{root: t.TempDir()}, nil
	})
}

type harness struct{ root string }

func (h *harness) Open(ctx context.Context, o providers.OpenOptions) (*providers.Provider, error) {
	o.Dir = filepath.Join(h.root, o.Project)
	return local.Open(ctx, o)
}

func (h *harness) Function(name string, variant int) (providers.FunctionDeployment, error) {
	path, sha, err := providertest.PythonArtifact(h.root, variant)
	return providers.FunctionDeployment{Runtime: providertest.PythonRuntime, Handler: providertest.PythonHandler,
		ArtifactPath: path, CodeSha256: sha}, err
}

func (h *harness) Close() {}
