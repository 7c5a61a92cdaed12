package aws

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/evcli/evcli/providers"
)

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unbase64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// pollLimit bounds each wait for a function state (about 10 minutes of
// 2-second polls).
const pollLimit = 300

// ApplyFunction implements providers.Deployer: it makes the function, its
// role, log group, live alias and rules match fd. It reads the function
// first and changes only what differs: the code when its CodeSha256 differs
// (then waits for LastUpdateStatus Successful), the configuration only when
// a field differs and only after the code update finished, the reserved
// concurrency only when it differs. It then publishes a version, points the
// live alias at it and converges the rules. step names each step: "role",
// "log group", "create function", "wait for active", "upload code", "wait
// for update", "update configuration", "concurrency", "tags",
// "publish version", "alias live -> N", "rules".
func (d *Deployer) ApplyFunction(ctx context.Context, fd providers.FunctionDeployment, codeChanged bool, step func(string)) error {
	if step == nil {
		step = func(string) {}
	}
	err := d.applyFunction(ctx, fd, codeChanged, step)
	return redacted(err, fd.Env)
}

func (d *Deployer) applyFunction(ctx context.Context, fd providers.FunctionDeployment, codeChanged bool, step func(string)) error {
	phys := d.physical(fd.Name)
	res := "function " + phys
	cur, err := retry(ctx, d, res, func(ctx context.Context) (*lambda.GetFunctionOutput, error) {
		return d.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(phys)})
	})
	exists := err == nil
	if err != nil && providers.CodeOf(err) != providers.NotFound {
		return err
	}
	if exists && cur.Tags[TagProject] != d.o.Project {
		return collision(res, cur.Tags[TagProject])
	}

	step("role")
	roleARN, newRole, err := d.ensureRole(ctx, fd)
	if err != nil {
		return err
	}
	step("log group")
	if err := d.ensureLogGroup(ctx, fd.Name, phys); err != nil {
		return err
	}

	changed := false // $LATEST changed in this call
	var conf *ltypes.FunctionConfiguration
	if !exists {
		step("create function")
		code, err := d.code(ctx, fd)
		if err != nil {
			return err
		}
		roleRetry := func(err error) bool { return newRole && roleNotAssumable(err) }
		created, err := retryIf(ctx, d, res, roleRetry, func(ctx context.Context) (*lambda.CreateFunctionOutput, error) {
			return d.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{
				FunctionName: aws.String(phys), Role: aws.String(roleARN), Code: code,
				Runtime: ltypes.Runtime(fd.Runtime), Handler: aws.String(fd.Handler),
				MemorySize: int32p(fd.MemoryMB), Timeout: int32p(fd.TimeoutS),
				Architectures: architectures(fd.Architecture),
				Environment:   &ltypes.Environment{Variables: envOrEmpty(fd.Env)},
				Tags:          d.functionTags(fd), PackageType: ltypes.PackageTypeZip,
			})
		})
		if err != nil {
			return err
		}
		changed = true
		conf = &ltypes.FunctionConfiguration{CodeSha256: created.CodeSha256, State: created.State}
		step("wait for active")
		if conf, err = d.waitFunction(ctx, phys); err != nil {
			return err
		}
	} else {
		conf = cur.Configuration
		if conf == nil {
			return wrapDeployErr(res, errors.New("GetFunction returned no configuration"))
		}
		if conf.State == ltypes.StatePending || conf.LastUpdateStatus == ltypes.LastUpdateStatusInProgress {
			step("wait for update")
			if conf, err = d.waitFunction(ctx, phys); err != nil {
				return err
			}
		}
		have := d.fromConfig(fd.Name, conf, nil)
		wantArch := fd.Architecture
		if wantArch == "" {
			wantArch = "x86_64"
		}
		upload := have.CodeSha256 != fd.CodeSha256 || (fd.CodeSha256 == "" && codeChanged)
		if upload || have.Architecture != wantArch {
			step("upload code")
			code, err := d.code(ctx, fd)
			if err != nil {
				return err
			}
			if err := do(ctx, d, res, func(ctx context.Context) (*lambda.UpdateFunctionCodeOutput, error) {
				return d.lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
					FunctionName: aws.String(phys), ZipFile: code.ZipFile, S3Bucket: code.S3Bucket, S3Key: code.S3Key,
					Architectures: architectures(wantArch),
				})
			}); err != nil {
				return err
			}
			changed = true
			step("wait for update")
			if conf, err = d.waitFunction(ctx, phys); err != nil {
				return err
			}
		}
		if fields := configDiff(conf, fd, roleARN); len(fields) > 0 {
			step("update configuration")
			roleRetry := func(err error) bool { return newRole && roleNotAssumable(err) }
			if _, err := retryIf(ctx, d, res, roleRetry, func(ctx context.Context) (*lambda.UpdateFunctionConfigurationOutput, error) {
				return d.lambda.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
					FunctionName: aws.String(phys), Role: aws.String(roleARN),
					Runtime: ltypes.Runtime(fd.Runtime), Handler: aws.String(fd.Handler),
					MemorySize: int32p(fd.MemoryMB), Timeout: int32p(fd.TimeoutS),
					Environment: &ltypes.Environment{Variables: envOrEmpty(fd.Env)},
				})
			}); err != nil {
				return err
			}
			changed = true
			step("wait for update")
			if conf, err = d.waitFunction(ctx, phys); err != nil {
				return err
			}
		}
		if err := d.syncTags(ctx, fd, aws.ToString(conf.FunctionArn), cur.Tags, step); err != nil {
			return err
		}
	}

	have := 0
	if exists && cur.Concurrency != nil && cur.Concurrency.ReservedConcurrentExecutions != nil {
		have = int(*cur.Concurrency.ReservedConcurrentExecutions)
	}
	if have != fd.Concurrency {
		step("concurrency")
		if err := d.setConcurrency(ctx, phys, fd.Concurrency); err != nil {
			return err
		}
	}

	if err := d.publish(ctx, phys, conf, changed, step); err != nil {
		return err
	}
	step("rules")
	if err := d.syncRules(ctx, fd, aws.ToString(conf.FunctionArn)); err != nil {
		return err
	}
	if fd.Replaces != "" && fd.Replaces != phys {
		// The rules now target the new function: retire the one deployed
		// under the earlier naming (and its role; its log group expires).
		step("delete " + fd.Replaces)
		return d.deletePhysical(ctx, fd.Name, fd.Replaces, false)
	}
	return nil
}

// roleNotAssumable is Lambda's answer while a new role has not reached it.
func roleNotAssumable(err error) bool {
	return apiCode(err) == "InvalidParameterValueException" && strings.Contains(err.Error(), "cannot be assumed by Lambda")
}

func int32p(n int) *int32 {
	if n == 0 {
		return nil
	}
	v := int32(n)
	return &v
}

func architectures(a string) []ltypes.Architecture {
	if a == "" {
		return nil
	}
	return []ltypes.Architecture{ltypes.Architecture(a)}
}

func envOrEmpty(env map[string]string) map[string]string {
	if env == nil {
		return map[string]string{}
	}
	return env
}

// configDiff names the configuration fields of conf that differ from fd
// (never their values).
func configDiff(conf *ltypes.FunctionConfiguration, fd providers.FunctionDeployment, role string) []string {
	var out []string
	if string(conf.Runtime) != fd.Runtime {
		out = append(out, "runtime")
	}
	if aws.ToString(conf.Handler) != fd.Handler {
		out = append(out, "handler")
	}
	if fd.MemoryMB != 0 && int(aws.ToInt32(conf.MemorySize)) != fd.MemoryMB {
		out = append(out, "memory")
	}
	if fd.TimeoutS != 0 && int(aws.ToInt32(conf.Timeout)) != fd.TimeoutS {
		out = append(out, "timeout")
	}
	var env map[string]string
	if conf.Environment != nil {
		env = conf.Environment.Variables
	}
	if !maps.Equal(env, fd.Env) {
		out = append(out, "environment")
	}
	if aws.ToString(conf.Role) != role {
		out = append(out, "role")
	}
	return out
}

func (d *Deployer) functionTags(fd providers.FunctionDeployment) map[string]string {
	return functionTags(d.o.Project, fd)
}

// syncTags sets and removes evcli's tags where they differ.
func (d *Deployer) syncTags(ctx context.Context, fd providers.FunctionDeployment, arn string, have map[string]string, step func(string)) error {
	want := d.functionTags(fd)
	set := map[string]string{}
	for k, v := range want {
		if have[k] != v {
			set[k] = v
		}
	}
	var drop []string
	for _, k := range []string{tagCorrelation, tagSecrets} {
		if _, ok := have[k]; ok {
			if _, keep := want[k]; !keep {
				drop = append(drop, k)
			}
		}
	}
	if len(set) == 0 && len(drop) == 0 {
		return nil
	}
	step("tags")
	res := "function " + fd.Name
	if len(set) > 0 {
		if err := do(ctx, d, res, func(ctx context.Context) (*lambda.TagResourceOutput, error) {
			return d.lambda.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: set})
		}); err != nil {
			return err
		}
	}
	if len(drop) > 0 {
		return do(ctx, d, res, func(ctx context.Context) (*lambda.UntagResourceOutput, error) {
			return d.lambda.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: drop})
		})
	}
	return nil
}

func (d *Deployer) setConcurrency(ctx context.Context, fn string, n int) error {
	res := "function " + fn
	if n <= 0 {
		err := do(ctx, d, res, func(ctx context.Context) (*lambda.DeleteFunctionConcurrencyOutput, error) {
			return d.lambda.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(fn)})
		})
		if providers.CodeOf(err) == providers.NotFound {
			return nil
		}
		return err
	}
	return do(ctx, d, res, func(ctx context.Context) (*lambda.PutFunctionConcurrencyOutput, error) {
		return d.lambda.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(fn), ReservedConcurrentExecutions: aws.Int32(int32(n))})
	})
}

// code returns the FunctionCode for fd's artifact: inline up to
// DirectUploadLimit, else uploaded to ArtifactBucket.
func (d *Deployer) code(ctx context.Context, fd providers.FunctionDeployment) (*ltypes.FunctionCode, error) {
	res := "function " + fd.Name
	if fd.ArtifactPath == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: res, Err: errors.New("no artifact to upload"), Hint: "run evcli deploy, which packages the function first"}
	}
	zip, err := os.ReadFile(fd.ArtifactPath)
	if err != nil {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: res, Err: err}
	}
	if int64(len(zip)) <= d.o.DirectUploadLimit {
		return &ltypes.FunctionCode{ZipFile: zip}, nil
	}
	if d.o.ArtifactBucket == "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: res,
			Err: fmt.Errorf("artifact %s is %.1f MiB, over Lambda's direct upload limit of %.0f MiB",
				fd.ArtifactPath, float64(len(zip))/(1<<20), float64(d.o.DirectUploadLimit)/(1<<20)),
			Hint: "pass --artifact-bucket BUCKET (an S3 bucket in the same region) to upload it through S3"}
	}
	sum := sha256.Sum256(zip)
	key := artifactKey(d.o.Project, fd.Name, sum[:])
	if err := do(ctx, d, "s3 bucket "+d.o.ArtifactBucket, func(ctx context.Context) (*s3.PutObjectOutput, error) {
		return d.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.o.ArtifactBucket), Key: aws.String(key),
			Body: strings.NewReader(string(zip)), ContentLength: aws.Int64(int64(len(zip)))})
	}); err != nil {
		return nil, err
	}
	return &ltypes.FunctionCode{S3Bucket: aws.String(d.o.ArtifactBucket), S3Key: aws.String(key)}, nil
}

// artifactKey is the S3 key of a function's zip whose SHA-256 is sum: the
// deployer uploads big zips there, and exported CloudFormation templates
// point Code at it.
func artifactKey(project, fn string, sum []byte) string {
	return fmt.Sprintf("evcli/%s/%s/%s.zip", project, fn, base64URL(sum))
}

// waitFunction polls GetFunctionConfiguration until the function is Active
// and its last update finished; a failed creation or update is an error
// with Lambda's reason.
func (d *Deployer) waitFunction(ctx context.Context, fn string) (*ltypes.FunctionConfiguration, error) {
	res := "function " + fn
	wait := 200 * time.Millisecond
	for i := 0; ; i++ {
		c, err := retry(ctx, d, res, func(ctx context.Context) (*lambda.GetFunctionConfigurationOutput, error) {
			return d.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
		})
		if err != nil {
			return nil, err
		}
		switch {
		case c.State == ltypes.StateFailed:
			return nil, &providers.Error{Code: providers.Unknown, Resource: res, Err: fmt.Errorf("function failed: %s", aws.ToString(c.StateReason))}
		case c.LastUpdateStatus == ltypes.LastUpdateStatusFailed:
			return nil, &providers.Error{Code: providers.Unknown, Resource: res, Err: fmt.Errorf("update failed: %s", aws.ToString(c.LastUpdateStatusReason))}
		case c.State != ltypes.StatePending && c.LastUpdateStatus != ltypes.LastUpdateStatusInProgress:
			return configOf(c), nil
		}
		if i >= pollLimit {
			return nil, &providers.Error{Code: providers.Unavailable, Resource: res, Err: errors.New("still updating after 10 minutes")}
		}
		if err := d.o.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(wait*3/2, 2*time.Second)
	}
}

func configOf(c *lambda.GetFunctionConfigurationOutput) *ltypes.FunctionConfiguration {
	return &ltypes.FunctionConfiguration{
		Architectures: c.Architectures, CodeSha256: c.CodeSha256, Environment: c.Environment,
		FunctionArn: c.FunctionArn, FunctionName: c.FunctionName, Handler: c.Handler,
		LastUpdateStatus: c.LastUpdateStatus, LastUpdateStatusReason: c.LastUpdateStatusReason,
		MemorySize: c.MemorySize, RevisionId: c.RevisionId, Role: c.Role, Runtime: c.Runtime,
		State: c.State, StateReason: c.StateReason, Timeout: c.Timeout, Version: c.Version,
	}
}

// publish publishes $LATEST as a version when it changed (or the live alias
// is missing or behind) and points the live alias at it.
func (d *Deployer) publish(ctx context.Context, fn string, latest *ltypes.FunctionConfiguration, changed bool, step func(string)) error {
	res := "function " + fn
	alias, err := retry(ctx, d, res, func(ctx context.Context) (*lambda.GetAliasOutput, error) {
		return d.lambda.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(fn), Name: aws.String(AliasLive)})
	})
	if err != nil && providers.CodeOf(err) != providers.NotFound {
		return err
	}
	hasAlias := err == nil
	if hasAlias && !changed {
		// Up to date when the live version is $LATEST as it is now.
		lv, err := retry(ctx, d, res, func(ctx context.Context) (*lambda.GetFunctionConfigurationOutput, error) {
			return d.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn), Qualifier: alias.FunctionVersion})
		})
		if err != nil {
			return err
		}
		if sameVersion(configOf(lv), latest) {
			return nil
		}
	}
	step("publish version")
	v, err := retry(ctx, d, res, func(ctx context.Context) (*lambda.PublishVersionOutput, error) {
		return d.lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(fn), CodeSha256: latest.CodeSha256})
	})
	if err != nil {
		return err
	}
	ver := aws.ToString(v.Version)
	if hasAlias && aws.ToString(alias.FunctionVersion) == ver {
		return nil
	}
	step("alias live -> " + ver)
	if hasAlias {
		return do(ctx, d, res, func(ctx context.Context) (*lambda.UpdateAliasOutput, error) {
			return d.lambda.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(fn), Name: aws.String(AliasLive), FunctionVersion: aws.String(ver)})
		})
	}
	return do(ctx, d, res, func(ctx context.Context) (*lambda.CreateAliasOutput, error) {
		return d.lambda.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(fn), Name: aws.String(AliasLive), FunctionVersion: aws.String(ver),
			Description: aws.String(aliasDescription)})
	})
}

// sameVersion reports whether a published version has $LATEST's code and
// configuration.
func sameVersion(a, b *ltypes.FunctionConfiguration) bool {
	archOf := func(c *ltypes.FunctionConfiguration) string {
		if len(c.Architectures) == 0 {
			return "x86_64"
		}
		return string(c.Architectures[0])
	}
	envOf := func(c *ltypes.FunctionConfiguration) map[string]string {
		if c.Environment == nil {
			return nil
		}
		return c.Environment.Variables
	}
	return aws.ToString(a.CodeSha256) == aws.ToString(b.CodeSha256) && a.Runtime == b.Runtime &&
		aws.ToString(a.Handler) == aws.ToString(b.Handler) && aws.ToInt32(a.MemorySize) == aws.ToInt32(b.MemorySize) &&
		aws.ToInt32(a.Timeout) == aws.ToInt32(b.Timeout) && aws.ToString(a.Role) == aws.ToString(b.Role) &&
		archOf(a) == archOf(b) && maps.Equal(envOf(a), envOf(b))
}

// ensureLogGroup creates /aws/lambda/<phys> when missing and sets its
// retention when it differs.
func (d *Deployer) ensureLogGroup(ctx context.Context, fn, phys string) error {
	group := DefaultLogGroupPrefix + phys
	res := "log group " + group
	out, err := retry(ctx, d, res, func(ctx context.Context) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
		return d.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	})
	if err != nil {
		return err
	}
	exists, retention := false, int32(0)
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == group {
			exists, retention = true, aws.ToInt32(g.RetentionInDays)
		}
	}
	if !exists {
		err := do(ctx, d, res, func(ctx context.Context) (*cloudwatchlogs.CreateLogGroupOutput, error) {
			return d.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group),
				Tags: ownerTags(d.o.Project, fn)})
		})
		if err != nil && apiCode(err) != "ResourceAlreadyExistsException" {
			return err
		}
	}
	if int(retention) == d.o.LogRetentionDays || (exists && !d.retentionSet) {
		return nil
	}
	return do(ctx, d, res, func(ctx context.Context) (*cloudwatchlogs.PutRetentionPolicyOutput, error) {
		return d.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(group), RetentionInDays: aws.Int32(int32(d.o.LogRetentionDays))})
	})
}

// DeleteFunction implements providers.Deployer: it deletes a function this
// project tagged (re-checked here), under either naming, its rules and,
// when evcli created it, its execution role. The log group is kept: it
// holds the function's history and expires with its retention. A function
// that no longer exists is not an error.
func (d *Deployer) DeleteFunction(ctx context.Context, name string) error {
	if err := d.deletePhysical(ctx, name, d.physical(name), true); err != nil {
		return err
	}
	if d.physical(name) != name {
		return d.deletePhysical(ctx, name, name, true)
	}
	return nil
}

// deletePhysical deletes the Lambda function phys deployed for the
// project's function name, with its rules when rules is set, and the role
// evcli made for it.
func (d *Deployer) deletePhysical(ctx context.Context, name, phys string, rules bool) error {
	res := "function " + phys
	cur, err := retry(ctx, d, res, func(ctx context.Context) (*lambda.GetFunctionOutput, error) {
		return d.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(phys)})
	})
	if providers.CodeOf(err) == providers.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.Tags[TagProject] != d.o.Project {
		if phys != d.physical(name) {
			return nil // the bare name is someone else's: not ours to delete
		}
		return &providers.Error{Code: providers.PermissionDenied, Resource: res,
			Err: fmt.Errorf("not tagged %s=%s: evcli deletes only what this project created", TagProject, d.o.Project)}
	}
	if rules {
		rs, err := d.projectRules(ctx, name)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if err := d.deleteRule(ctx, r, false); err != nil {
				return err
			}
		}
	}
	if err := do(ctx, d, res, func(ctx context.Context) (*lambda.DeleteFunctionOutput, error) {
		return d.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(phys)})
	}); err != nil && providers.CodeOf(err) != providers.NotFound {
		return err
	}
	role := ""
	if cur.Configuration != nil {
		role = aws.ToString(cur.Configuration.Role)
	}
	for _, rn := range []string{d.roleName(name), RoleName(d.o.Project, name)} {
		if strings.HasSuffix(role, "/"+rn) {
			return d.deleteRole(ctx, rn)
		}
	}
	return nil
}

// versionNumber parses a published version ("$LATEST" is not one).
func versionNumber(v string) (int, bool) {
	n, err := strconv.Atoi(v)
	return n, err == nil
}
