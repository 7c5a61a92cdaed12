// Package export writes a project as infrastructure as code for teams
// whose pipeline deploys (evcli export): CloudFormation, SAM or Terraform,
// from the same desired state as deploy.
//
// Run packages the functions (the deterministic zips of deploy.Package),
// builds deploy.Desired — the very list deploy.Run plans with — and hands
// it to the provider's Exporter (providers.Exporter), which renders the
// resources its Deployer would create. Secret values are never read: a
// secret becomes a template parameter (CloudFormation, SAM) or a sensitive
// variable (Terraform). Write puts the template and the zips it refers to
// under a directory.
//
// Check compares a committed template with a fresh export, structurally
// (YAML by key, HCL by block and attribute), and names every difference by
// its path (Resources.InventoryFunction.Properties.MemorySize: 128 -> 256),
// so CI can fail when evcli.yaml and the template drift apart.
//
// Errors: a build failure stops the export (a template missing a function
// would be wrong); a format the provider cannot write is the Exporter's
// providers.Unsupported error; a template that does not parse is an error
// naming the file and line.
package export
