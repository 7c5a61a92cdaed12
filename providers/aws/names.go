package aws

import (
	"fmt"

	"github.com/evcli/evcli/providers"
)

// Physical names. Lambda functions, log groups and IAM roles live in a
// namespace shared by every project of the account (roles: of every
// region), so evcli names them after the project, and the role after the
// region too:
//
//	function   <project>-<fn>                    (64 characters at most)
//	log group  /aws/lambda/<project>-<fn>
//	role       evcli-<project>-<fn>-<region>     (64 characters at most)
//
// A name over the limit keeps its first characters and ends with 8 hex
// digits of the SHA-256 of the whole name, so it stays unique and stable.
// Users keep typing <fn>: every ability of the driver maps it here.
//
// One role per function and region (rather than one per region): each
// function keeps its own least-privilege policy, a region's deploy never
// rewrites another region's role (the bug of a role shared across regions
// was that each deploy wrote its own region's bus ARN into it), and pruning
// a function in one region cannot remove permissions used in another.

// FunctionName is the Lambda function of the project's function fn.
func FunctionName(project, fn string) string {
	if project == "" {
		return fn
	}
	return limitName(project+"-"+fn, 64)
}

// LogGroupName is the log group Lambda writes the function's logs to.
func LogGroupName(project, fn string) string {
	return DefaultLogGroupPrefix + FunctionName(project, fn)
}

// RoleNameIn is the execution role evcli creates for fn in region.
func RoleNameIn(project, fn, region string) string {
	if region == "" {
		return RoleName(project, fn)
	}
	return limitName("evcli-"+project+"-"+fn+"-"+region, 64)
}

// physical is the Lambda function name of the project's function fn.
func (d *Deployer) physical(fn string) string {
	if d.legacyNaming {
		return fn
	}
	return FunctionName(d.o.Project, fn)
}

// roleName is the execution role evcli creates for fn in this region.
func (d *Deployer) roleName(fn string) string {
	if d.legacyNaming {
		return RoleName(d.o.Project, fn)
	}
	return RoleNameIn(d.o.Project, fn, d.region)
}

// PhysicalName implements providers.Namer.
func (d *Deployer) PhysicalName(fn string) string { return d.physical(fn) }

// collision is the error for a physical name held by something this
// project did not create.
func collision(resource, owner string) error {
	who := "is not tagged " + TagProject
	if owner != "" {
		who = "belongs to project " + owner
	}
	return &providers.Error{Code: providers.Conflict, Resource: resource,
		Err:  fmt.Errorf("the name is taken: it %s", who),
		Hint: "evcli does not take over what it did not create: rename the function in evcli.yaml (or the project), or delete the existing resource"}
}
