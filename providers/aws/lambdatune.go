package aws

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/evcli/evcli/providers"
)

// wrapTuneErr gives an SDK error a portable code and the resource.
func wrapTuneErr(resource string, err error) error {
	return classify(resource, err, func(c providers.Code) string {
		switch c {
		case providers.NotFound:
			return "check the function name and region (evcli deploy creates it)"
		case providers.PermissionDenied:
			return "the credentials need lambda:*Function*, logs:StartQuery/GetQueryResults and cloudwatch:GetMetricData"
		}
		return ""
	})
}

// TunerOptions configure a LambdaTuner.
type TunerOptions struct {
	// Physical maps a project's function name to its Lambda function name
	// (nil: the same).
	Physical func(function string) string
	// Sleep waits between status polls; nil sleeps for real.
	Sleep func(ctx context.Context, d time.Duration) error
	// PollInterval is the wait between polls; 0 means 1 s.
	PollInterval time.Duration
	// WaitTimeout bounds each wait for a function to become Active or for
	// an update to finish; 0 means 5 minutes (counted in polls).
	WaitTimeout time.Duration
	// HTTPClient downloads the function's code from the location GetFunction
	// returns; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Artifact, when set and returning a non-nil zip, is used as the code of
	// the temporary copies instead of downloading the deployed one.
	Artifact func(function string) ([]byte, error)
	// Suffix makes the temporary copies' names unique; nil means 6 random
	// hex digits.
	Suffix func() string
}

// LambdaTuner implements tune.Prober and tune.Applier for AWS Lambda.
//
// Probe never touches the live function: for each size it creates a
// temporary copy (same code, runtime, handler, role, environment, layers,
// architecture, timeout) named NAME-tune-MB-SUFFIX, tagged
// evcli:tune-copy-of=NAME, invokes it synchronously and deletes it, and its
// log group, in every exit path (errors, panics and ctx cancellation
// included).
type LambdaTuner struct {
	client *lambda.Client
	logs   *cloudwatchlogs.Client
	opts   TunerOptions

	mu    sync.Mutex
	cache map[string]*sourceFunction
}

type sourceFunction struct {
	conf *ltypes.FunctionConfiguration
	code ltypes.FunctionCode
}

// NewLambdaTuner returns a LambdaTuner using cfg.
func NewLambdaTuner(cfg aws.Config, opts *TunerOptions) *LambdaTuner {
	t := &LambdaTuner{client: lambda.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg), cache: map[string]*sourceFunction{}}
	if opts != nil {
		t.opts = *opts
	}
	if t.opts.Sleep == nil {
		t.opts.Sleep = providers.Sleep
	}
	if t.opts.PollInterval <= 0 {
		t.opts.PollInterval = time.Second
	}
	if t.opts.WaitTimeout <= 0 {
		t.opts.WaitTimeout = 5 * time.Minute
	}
	if t.opts.HTTPClient == nil {
		t.opts.HTTPClient = http.DefaultClient
	}
	if t.opts.Suffix == nil {
		t.opts.Suffix = func() string {
			b := make([]byte, 3)
			_, _ = rand.Read(b)
			return hex.EncodeToString(b)
		}
	}
	return t
}

// As gives access to the *lambda.Client.
func (t *LambdaTuner) As(target any) bool {
	if p, ok := target.(**lambda.Client); ok {
		*p = t.client
		return true
	}
	return false
}

// source reads (once per function) the live function's configuration and
// code.
func (t *LambdaTuner) source(ctx context.Context, function string) (*sourceFunction, error) {
	function = t.physical(function)
	t.mu.Lock()
	s := t.cache[function]
	t.mu.Unlock()
	if s != nil {
		return s, nil
	}
	out, err := t.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(function)})
	if err != nil {
		return nil, wrapTuneErr("function "+function, err)
	}
	if out.Configuration == nil {
		return nil, fmt.Errorf("function %s: GetFunction returned no configuration", function)
	}
	s = &sourceFunction{conf: out.Configuration}
	if out.Configuration.PackageType == ltypes.PackageTypeImage {
		if out.Code == nil || out.Code.ImageUri == nil {
			return nil, fmt.Errorf("function %s: container image function without an image URI", function)
		}
		s.code.ImageUri = out.Code.ImageUri
	} else {
		var zip []byte
		if t.opts.Artifact != nil {
			if zip, err = t.opts.Artifact(function); err != nil {
				return nil, fmt.Errorf("function %s: read the local artifact: %w", function, err)
			}
		}
		if zip == nil {
			if out.Code == nil || aws.ToString(out.Code.Location) == "" {
				return nil, fmt.Errorf("function %s: GetFunction returned no code location; run evcli package so the local artifact can be used", function)
			}
			if zip, err = t.download(ctx, aws.ToString(out.Code.Location)); err != nil {
				return nil, fmt.Errorf("function %s: download its code: %w", function, err)
			}
		}
		s.code.ZipFile = zip
	}
	t.mu.Lock()
	t.cache[function] = s
	t.mu.Unlock()
	return s, nil
}

func (t *LambdaTuner) download(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := t.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET code location: %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 256<<20))
}

// TempName is the name of the temporary copy of function at memoryMB: at
// most 64 characters, as Lambda allows.
func TempName(function string, memoryMB int, suffix string) string {
	tail := fmt.Sprintf("-tune-%d-%s", memoryMB, suffix)
	if len(function)+len(tail) > 64 {
		function = function[:64-len(tail)]
	}
	return function + tail
}

// Probe creates a temporary copy of function at memoryMB, invokes it runs
// times with payload and deletes it.
func (t *LambdaTuner) Probe(ctx context.Context, function string, memoryMB int, payload []byte, runs int) (recs []providers.InvocationRecord, err error) {
	src, err := t.source(ctx, function)
	if err != nil {
		return nil, err
	}
	name := TempName(t.physical(function), memoryMB, t.opts.Suffix())
	// Registered before CreateFunction: a create that succeeds on the
	// server but fails on the client (timeout, Ctrl-C) is cleaned up too.
	defer func() {
		if derr := t.deleteCopy(ctx, name); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	c := src.conf
	in := &lambda.CreateFunctionInput{
		FunctionName:  aws.String(name),
		Role:          c.Role,
		Code:          &src.code,
		Description:   aws.String("evcli tune memory: temporary copy of " + function + "; safe to delete"),
		MemorySize:    aws.Int32(int32(memoryMB)),
		Timeout:       c.Timeout,
		Architectures: c.Architectures,
		PackageType:   c.PackageType,
		Tags:          map[string]string{"evcli:tune-copy-of": function},
		Publish:       false,
	}
	if c.PackageType != ltypes.PackageTypeImage {
		in.Runtime, in.Handler = c.Runtime, c.Handler
	}
	if c.Environment != nil && c.Environment.Variables != nil {
		in.Environment = &ltypes.Environment{Variables: c.Environment.Variables}
	}
	for _, l := range c.Layers {
		in.Layers = append(in.Layers, aws.ToString(l.Arn))
	}
	if c.EphemeralStorage != nil {
		in.EphemeralStorage = c.EphemeralStorage
	}
	if c.VpcConfig != nil && len(c.VpcConfig.SubnetIds) > 0 {
		in.VpcConfig = &ltypes.VpcConfig{SubnetIds: c.VpcConfig.SubnetIds, SecurityGroupIds: c.VpcConfig.SecurityGroupIds}
	}
	if _, err := t.client.CreateFunction(ctx, in); err != nil {
		return nil, wrapTuneErr("temporary function "+name, err)
	}
	if err := t.wait(ctx, name, func(fc *lambda.GetFunctionConfigurationOutput) (bool, error) {
		switch fc.State {
		case ltypes.StateActive:
			return true, nil
		case ltypes.StateFailed:
			return false, fmt.Errorf("temporary function %s failed to start: %s", name, aws.ToString(fc.StateReason))
		}
		return false, nil
	}); err != nil {
		return nil, err
	}
	for i := 0; i < runs; i++ {
		r, err := t.invoke(ctx, name, payload)
		if err != nil {
			return recs, err
		}
		r.Function = function
		recs = append(recs, r)
	}
	return recs, nil
}

// invoke calls the copy synchronously with the log tail, and reads the
// REPORT line from it.
func (t *LambdaTuner) invoke(ctx context.Context, name string, payload []byte) (providers.InvocationRecord, error) {
	out, err := t.client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(name),
		InvocationType: ltypes.InvocationTypeRequestResponse,
		LogType:        ltypes.LogTypeTail,
		Payload:        payload,
	})
	if err != nil {
		return providers.InvocationRecord{}, wrapTuneErr("temporary function "+name, err)
	}
	logs, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	var rec providers.InvocationRecord
	found := false
	for _, line := range strings.Split(string(logs), "\n") {
		if r, ok := providers.ParseReportLine(line); ok {
			rec, found = r, true
		}
	}
	if !found {
		return rec, fmt.Errorf("temporary function %s: no REPORT line in the invocation's log tail", name)
	}
	rec.Time = time.Now().UTC()
	if fe := aws.ToString(out.FunctionError); fe != "" && rec.Outcome == "ok" {
		rec.Outcome = "error"
	}
	return rec, nil
}

// deleteCopy deletes a temporary copy, and the log group its invocations
// created, even when ctx is cancelled. The log group is best effort: a
// missing one or a missing logs:DeleteLogGroup permission is not an error.
func (t *LambdaTuner) deleteCopy(ctx context.Context, name string) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := t.client.DeleteFunction(dctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
	var nf *ltypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete the temporary function %s (delete it by hand: aws lambda delete-function --function-name %s): %w", name, name, err)
	}
	_, _ = t.logs.DeleteLogGroup(dctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/aws/lambda/" + name)})
	return nil
}

// wait polls GetFunctionConfiguration until done says so.
func (t *LambdaTuner) wait(ctx context.Context, name string, done func(*lambda.GetFunctionConfigurationOutput) (bool, error)) error {
	polls := int(t.opts.WaitTimeout / t.opts.PollInterval)
	for i := 0; ; i++ {
		fc, err := t.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			return wrapTuneErr("function "+name, err)
		}
		ok, err := done(fc)
		if err != nil || ok {
			return err
		}
		if i >= polls {
			return fmt.Errorf("function %s: still %s/%s after %s", name, fc.State, fc.LastUpdateStatus, t.opts.WaitTimeout)
		}
		if err := t.opts.Sleep(ctx, t.opts.PollInterval); err != nil {
			return err
		}
	}
}

// SetMemory implements providers.MemorySetter: SetMemoryLive without the
// description.
func (t *LambdaTuner) SetMemory(ctx context.Context, function string, memoryMB int) error {
	_, err := t.SetMemoryLive(ctx, function, memoryMB)
	return err
}

// SetMemoryLive updates the function's memory, waits until
// LastUpdateStatus is Successful, then publishes a version and points the
// live alias at it — the path deploy takes, since rules and invoke call
// live, not $LATEST — and says what it did ("published version 4, live
// 3 -> 4").
func (t *LambdaTuner) SetMemoryLive(ctx context.Context, function string, memoryMB int) (string, error) {
	function = t.physical(function)
	if err := t.setLatestMemory(ctx, function, memoryMB); err != nil {
		return "", err
	}
	res := "function " + function
	fc, err := t.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(function)})
	if err != nil {
		return "", wrapTuneErr(res, err)
	}
	v, err := t.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(function), CodeSha256: fc.CodeSha256,
		Description: aws.String(fmt.Sprintf("evcli tune memory: %d MB", memoryMB))})
	if err != nil {
		return "", wrapTuneErr(res, err)
	}
	ver := aws.ToString(v.Version)
	alias, err := t.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(function), Name: aws.String(AliasLive)})
	switch {
	case err == nil:
		from := aws.ToString(alias.FunctionVersion)
		if from == ver {
			return "version " + ver + " is live", nil
		}
		if _, err := t.client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(function), Name: aws.String(AliasLive), FunctionVersion: aws.String(ver)}); err != nil {
			return "", wrapTuneErr(res, err)
		}
		return fmt.Sprintf("published version %s, live %s -> %s", ver, from, ver), nil
	case codeOf(err) == providers.NotFound:
		if _, err := t.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(function), Name: aws.String(AliasLive), FunctionVersion: aws.String(ver)}); err != nil {
			return "", wrapTuneErr(res, err)
		}
		return fmt.Sprintf("published version %s, live -> %s", ver, ver), nil
	default:
		return "", wrapTuneErr(res, err)
	}
}

// setLatestMemory updates $LATEST's memory and waits for the update.
func (t *LambdaTuner) setLatestMemory(ctx context.Context, function string, memoryMB int) error {
	updated := func(fc *lambda.GetFunctionConfigurationOutput) (bool, error) {
		switch fc.LastUpdateStatus {
		case ltypes.LastUpdateStatusInProgress:
			return false, nil
		case ltypes.LastUpdateStatusFailed:
			return false, fmt.Errorf("function %s: update failed: %s (%s)", function, aws.ToString(fc.LastUpdateStatusReason), fc.LastUpdateStatusReasonCode)
		}
		return fc.State != ltypes.StatePending, nil
	}
	// An update still in progress (a deploy) would make ours fail with
	// ResourceConflictException: wait for it first.
	if err := t.wait(ctx, function, func(fc *lambda.GetFunctionConfigurationOutput) (bool, error) {
		return fc.LastUpdateStatus != ltypes.LastUpdateStatusInProgress, nil
	}); err != nil {
		return err
	}
	if _, err := t.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(function), MemorySize: aws.Int32(int32(memoryMB)),
	}); err != nil {
		return wrapTuneErr("function "+function, err)
	}
	return t.wait(ctx, function, updated)
}

func (t *LambdaTuner) physical(fn string) string {
	if t.opts.Physical == nil {
		return fn
	}
	return t.opts.Physical(fn)
}

var _ providers.LiveMemorySetter = (*LambdaTuner)(nil)
