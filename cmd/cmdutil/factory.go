package cmdutil

import (
	"context"
	"os"
	"time"

	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

// Globals are the values of the global flags.
type Globals struct {
	File     string // -f/--file
	Provider string // --provider ("" = from evcli.yaml, default local)
	Region   string
	Project  string // --project: the cloud's own project (a Google Cloud project id)
	// --subscription and --resource-group: where an Azure project deploys.
	Subscription, ResourceGroup string
	Profile                     string
	Output                      string // text|json
	Color                       string // auto|always|never
	Yes                         bool
	Debug                       bool
}

// JSON reports whether -o json was given.
func (g *Globals) JSON() bool { return g.Output == "json" }

// Factory gives commands their dependencies, so tests can replace each.
type Factory struct {
	IO      *IOStreams
	Globals *Globals
	Now     func() time.Time
	// Sleep waits d or until ctx is done (retry and backoff hooks).
	Sleep   func(ctx context.Context, d time.Duration) error
	Getenv  func(string) string
	Environ func() []string
	// Executable is the path of the running evcli binary (to start helpers
	// such as a background local server).
	Executable func() (string, error)
	// OpenProvider opens a provider by name (see OpenFunc).
	OpenProvider OpenFunc
}

// New returns the Factory for the real process.
func New() *Factory {
	return &Factory{
		IO:         System(),
		Globals:    &Globals{File: project.DefaultFile, Output: "text", Color: "auto"},
		Now:        time.Now,
		Sleep:      providers.Sleep,
		Getenv:     os.Getenv,
		Environ:    os.Environ,
		Executable: os.Executable,
	}
}

// Project loads the project file named by -f, applying --provider,
// --region, --project, --subscription, --resource-group and EVCLI_*
// environment overrides. Invalid files return
// *project.Diagnostics (exit code 2).
func (f *Factory) Project() (*project.Project, error) {
	flags := map[string]string{}
	if f.Globals.Provider != "" {
		flags["provider"] = f.Globals.Provider
	}
	if f.Globals.Region != "" {
		flags["region"] = f.Globals.Region
	}
	if f.Globals.Project != "" {
		flags["gcp.project"] = f.Globals.Project
	}
	if f.Globals.Subscription != "" {
		flags["azure.subscription"] = f.Globals.Subscription
	}
	if f.Globals.ResourceGroup != "" {
		flags["azure.resourceGroup"] = f.Globals.ResourceGroup
	}
	return project.Load(f.ProjectFile(), project.LoadOptions{Flags: flags, Environ: f.Environ()})
}

// ProjectFile is the project file: -f as given, or, by default, evcli.yaml
// in this directory or the nearest parent that has one (as git finds
// .git), so evcli works from a function's directory.
func (f *Factory) ProjectFile() string {
	if f.Globals.File != project.DefaultFile {
		return f.Globals.File
	}
	return project.Find(".", project.DefaultFile)
}
