package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

// Options configure Run.
type Options struct {
	Project *project.Project
	Format  string
	Now     func() time.Time
	// OnPackage is told as each function is packaged.
	OnPackage func(deploy.ArtifactEvent)
}

// secretPlaceholder stands for a secret's value in the desired state of
// an export: Exporters write a parameter instead, never the value.
const secretPlaceholder = "(secret)"

// Desired packages the project's functions and returns the desired state
// deploy would plan with, secrets left unread.
func Desired(ctx context.Context, o Options) ([]providers.FunctionDeployment, error) {
	env, err := deploy.Environments(o.Project, nil, func(string) string { return secretPlaceholder })
	if err != nil {
		return nil, err
	}
	arts, err := deploy.Package(ctx, o.Project, deploy.PackageOptions{Now: o.Now, Progress: o.OnPackage})
	if err != nil {
		return nil, fmt.Errorf("export needs every function built: %w", err)
	}
	return deploy.Desired(o.Project, arts, env), nil
}

// Run packages the project and renders it with exp in o.Format.
func Run(ctx context.Context, exp providers.Exporter, o Options) (*providers.Export, error) {
	desired, err := Desired(ctx, o)
	if err != nil {
		return nil, err
	}
	return exp.Export(ctx, desired, o.Format)
}

// Template is the export's template file.
func Template(ex *providers.Export) providers.ExportFile {
	for _, f := range ex.Files {
		if f.Template {
			return f
		}
	}
	return providers.ExportFile{}
}

// Write writes the export's files under dir and returns their paths. A
// file whose bytes are already there is not rewritten. Zips an earlier
// export left in the directories this one writes zips to, and that this
// one no longer refers to (a function removed, code changed), are removed,
// so the directory holds what the template needs and nothing more.
func Write(dir string, ex *providers.Export) ([]string, error) {
	var paths []string
	keep := map[string]bool{}
	zipDirs := map[string]bool{}
	for _, f := range ex.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		paths = append(paths, p)
		keep[p] = true
		if !f.Template {
			zipDirs[filepath.Dir(p)] = true
		}
		if have, err := os.ReadFile(p); err == nil && string(have) == string(f.Data) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return paths, err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return paths, err
		}
	}
	for d := range zipDirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			return paths, err
		}
		for _, e := range ents {
			p := filepath.Join(d, e.Name())
			if e.Type().IsRegular() && filepath.Ext(p) == ".zip" && !keep[p] {
				if err := os.Remove(p); err != nil {
					return paths, err
				}
			}
		}
	}
	return paths, nil
}
