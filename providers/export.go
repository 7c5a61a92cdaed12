package providers

import "context"

// Export formats users may name (evcli export --format). A driver's
// Exporter supports some of them and refuses the others as Unsupported.
const (
	FormatCloudFormation = "cloudformation"
	FormatSAM            = "sam"
	FormatTerraform      = "terraform"
)

// ExportFormats lists the formats, in the order help names them.
var ExportFormats = []string{FormatCloudFormation, FormatSAM, FormatTerraform}

// Exporter writes a project's desired state as infrastructure as code: the
// resources the driver's Deployer would create for the same functions, with
// the same physical names, tags, roles, settings, rules and targets.
type Exporter interface {
	// Export renders desired (as deploy.Desired builds it: packaged, with
	// ArtifactPath set; secret values are never read, SecretNames become
	// template parameters) in format. The first file is the template; the
	// others are the artifacts it refers to (the zips), at paths relative
	// to the output directory.
	Export(ctx context.Context, desired []FunctionDeployment, format string) (*Export, error)
}

// Export is what an Exporter wrote.
type Export struct {
	Format string
	Files  []ExportFile
	// Next says, one line each, how to deploy what was written (the
	// commands a pipeline would run), with DIR for the output directory.
	Next []string
}

// ExportFile is one file of an export.
type ExportFile struct {
	// Path is slash-separated and relative to the output directory.
	Path string
	Data []byte
	// Template marks the template itself (the file --check compares).
	Template bool
}
