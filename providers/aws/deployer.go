package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/evcli/evcli/providers"
)

// Tags evcli puts on what it creates.
const (
	TagProject     = "evcli:project"
	TagFunction    = "evcli:function"
	tagCorrelation = "evcli:correlation"
	tagSecrets     = "evcli:secrets"
	// AliasLive is the alias rules target and invoke calls.
	AliasLive = "live"
	// DefaultDirectUploadLimit is Lambda's limit for a zip sent in the
	// CreateFunction/UpdateFunctionCode request itself.
	DefaultDirectUploadLimit = 50 << 20
)

// TableSpec is the DynamoDB event-store table a project deploys.
type TableSpec struct {
	Name, PartitionKey, SortKey, TTLAttribute string
	// The other attributes of an item and how long events are kept (0:
	// for ever), for the writer that fills the table.
	ID, Type, Data, Version string
	TTLDays                 int
}

// DeployerOptions configure a Deployer.
type DeployerOptions struct {
	// Project is the value of the evcli:project tag on everything created.
	Project string
	// Functions are the project's function names (evcli.yaml): their
	// physical names are checked for collisions with other projects when
	// the deployed state is read, and a deployment under the earlier
	// naming (the bare name) is found and adopted.
	Functions []string
	// Bus is the project's bus; "" or "default" is the account's default
	// bus, which is never created or deleted.
	Bus string
	// Table is the event-store table when store.type is dynamodb; nil
	// otherwise.
	Table *TableSpec
	// ArtifactBucket (--artifact-bucket) receives zips over
	// DirectUploadLimit.
	ArtifactBucket string
	// DirectUploadLimit is the largest zip sent inline; 0 means 50 MiB.
	DirectUploadLimit int64
	// LogRetentionDays is the retention of the functions' log groups
	// (--log-retention): set, it is planned and converged; 0 gives new log
	// groups 14 days and leaves existing ones as they are.
	LogRetentionDays int
	// Workflows are the project's state machines (deployed as shared
	// resources, before the functions).
	Workflows []providers.WorkflowSpec
	// Sleep waits between retries and polls; nil waits on a real timer
	// honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxAttempts bounds the attempts of a call that is throttled or
	// conflicts; 0 means 8.
	MaxAttempts int
	// ReadConcurrency bounds the parallel read calls of Deployed; 0 means 8.
	ReadConcurrency int
}

// Deployer deploys a project's functions, rules, bus and event-store table
// to AWS with the service APIs directly (no CloudFormation). It implements
// providers.Deployer, providers.SharedDeployer, providers.Rollbacker and
// providers.Invoker.
type Deployer struct {
	o       DeployerOptions
	region  string
	lambda  *lambda.Client
	iam     *iam.Client
	events  *eventbridge.Client
	logs    *cloudwatchlogs.Client
	ddb     *dynamodb.Client
	s3      *s3.Client
	sts     *sts.Client
	sfn     *sfn.Client
	jitter  func(d time.Duration) time.Duration
	idMu    sync.Mutex
	account string
	part    string
	// legacyNaming names functions and roles as evcli did before names
	// carried the project (bare <fn>, evcli-<project>-<fn>): tests make
	// deployments of that naming with it, to test their adoption.
	legacyNaming bool
	// retentionSet: LogRetentionDays was given, not defaulted.
	retentionSet bool
}

// NewDeployer returns a Deployer whose clients are built from cfg. The
// SDK's own endpoint resolution applies, so AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_<SERVICE> point it at LocalStack or an emulator; S3 then
// uses path-style addressing. The SDK's retryer is off: the Deployer retries
// throttled and conflicting calls itself, with o.Sleep, so waits are
// testable and bounded by o.MaxAttempts.
func NewDeployer(cfg aws.Config, o DeployerOptions) *Deployer {
	if o.DirectUploadLimit <= 0 {
		o.DirectUploadLimit = DefaultDirectUploadLimit
	}
	retentionSet := o.LogRetentionDays > 0
	if !retentionSet {
		o.LogRetentionDays = 14
	}
	if o.Sleep == nil {
		o.Sleep = providers.Sleep
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.ReadConcurrency <= 0 {
		o.ReadConcurrency = 8
	}
	if o.Bus == "default" {
		o.Bus = ""
	}
	cfg = cfg.Copy()
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	cfg.RetryMaxAttempts, cfg.RetryMode = 0, ""
	d := &Deployer{
		o:            o,
		retentionSet: retentionSet,
		region:       cfg.Region,
		lambda:       lambda.NewFromConfig(cfg),
		iam:          iam.NewFromConfig(cfg),
		events:       eventbridge.NewFromConfig(cfg),
		logs:         cloudwatchlogs.NewFromConfig(cfg),
		ddb:          dynamodb.NewFromConfig(cfg),
		sts:          sts.NewFromConfig(cfg),
		sfn:          sfn.NewFromConfig(cfg),
		jitter:       func(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) },
	}
	d.s3 = s3.NewFromConfig(cfg, func(so *s3.Options) {
		// An endpoint override (an emulator) rarely resolves virtual-hosted
		// bucket names: address buckets by path there.
		if so.BaseEndpoint != nil && *so.BaseEndpoint != "" {
			so.UsePathStyle = true
		}
	})
	return d
}

// As gives access to the SDK clients (**lambda.Client, **iam.Client,
// **eventbridge.Client, **cloudwatchlogs.Client, **dynamodb.Client,
// **s3.Client).
func (d *Deployer) As(target any) bool {
	switch p := target.(type) {
	case **lambda.Client:
		*p = d.lambda
	case **iam.Client:
		*p = d.iam
	case **eventbridge.Client:
		*p = d.events
	case **cloudwatchlogs.Client:
		*p = d.logs
	case **dynamodb.Client:
		*p = d.ddb
	case **s3.Client:
		*p = d.s3
	default:
		return false
	}
	return true
}

// ---- names ----

// RoleName is the execution role evcli creates for function:
// evcli-<project>-<function>, shortened to IAM's 64 characters with a hash
// suffix that keeps it unique.
func RoleName(project, function string) string {
	return limitName("evcli-"+project+"-"+function, 64)
}

// RuleName is the EventBridge rule of a function event: <project>-<id>,
// shortened to EventBridge's 64 characters with a hash suffix.
func RuleName(project, id string) string {
	return limitName(project+"-"+id, 64)
}

// limitName returns s, or when it is longer than n, its first characters
// and 8 hex digits of its SHA-256.
func limitName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return s[:n-9] + "-" + hex.EncodeToString(sum[:4])
}

// statementID names the permission letting EventBridge rule (on bus) invoke
// the live alias: letters, digits, - and _ only, at most 100 characters.
func statementID(bus, rule string) string {
	if bus == "" {
		bus = "default"
	}
	sum := sha256.Sum256([]byte(bus + "/" + rule))
	return "evcli-" + rule + "-" + hex.EncodeToString(sum[:4])
}

func (d *Deployer) busName() string {
	if d.o.Bus == "" {
		return "default"
	}
	return d.o.Bus
}

func normBus(b string) string {
	if b == "" {
		return "default"
	}
	return b
}

// identity returns the account id and partition (from STS, once).
func (d *Deployer) identity(ctx context.Context) (account, partition string, err error) {
	d.idMu.Lock()
	defer d.idMu.Unlock()
	if d.account != "" {
		return d.account, d.part, nil
	}
	out, err := retry(ctx, d, "aws account", func(ctx context.Context) (*sts.GetCallerIdentityOutput, error) {
		return d.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	})
	if err != nil {
		return "", "", err
	}
	d.account = aws.ToString(out.Account)
	d.part = "aws"
	if parts := strings.SplitN(aws.ToString(out.Arn), ":", 3); len(parts) == 3 && parts[1] != "" {
		d.part = parts[1]
	}
	return d.account, d.part, nil
}

// scope spells ARNs with the account's values (from STS, once).
func (d *Deployer) scope(ctx context.Context) (arnScope, error) {
	acct, part, err := d.identity(ctx)
	if err != nil {
		return arnScope{}, err
	}
	return arnScope{Partition: part, Region: d.region, Account: acct}, nil
}

// ---- retries and errors ----

// apiCode is the error code of an SDK error, "" for other errors.

// transient reports whether a call failing with err may succeed when
// repeated: throttling, a conflicting update in progress, a 5xx.
func transient(err error) bool {
	switch codeOf(err) {
	case providers.Throttled, providers.Unavailable:
		return true
	case providers.Conflict:
		// An update in progress passes; a create racing another does not.
		c := apiCode(err)
		return c == "ConcurrentModificationException" ||
			(c == "ResourceConflictException" && !strings.Contains(err.Error(), "already exist"))
	}
	return false
}

// backoff is the wait before attempt n+1 (n from 1): exponential from base,
// capped, with jitter.
func (d *Deployer) backoff(n int, base, max time.Duration) time.Duration {
	w := base << min(n-1, 20)
	if w > max || w <= 0 {
		w = max
	}
	return d.jitter(w)
}

// retry calls fn until it succeeds, fails for good, or MaxAttempts are
// used; throttling and conflicts are retried with exponential backoff and
// jitter. The error is a *providers.Error naming resource.
func retry[T any](ctx context.Context, d *Deployer, resource string, fn func(context.Context) (T, error)) (T, error) {
	return retryIf(ctx, d, resource, nil, fn)
}

// retryIf is retry that also retries errors extra accepts (with a longer
// backoff: they are eventual-consistency waits such as IAM propagation).
func retryIf[T any](ctx context.Context, d *Deployer, resource string, extra func(error) bool, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	for n := 1; ; n++ {
		v, err := fn(ctx)
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			return zero, ctx.Err()
		}
		var wait time.Duration
		switch {
		case extra != nil && extra(err):
			wait = d.backoff(n, time.Second, 10*time.Second)
		case transient(err):
			wait = d.backoff(n, 200*time.Millisecond, 5*time.Second)
		default:
			return zero, wrapDeployErr(resource, err)
		}
		if n >= d.o.MaxAttempts {
			return zero, wrapDeployErr(resource, fmt.Errorf("gave up after %d attempts: %w", n, err))
		}
		if serr := d.o.Sleep(ctx, wait); serr != nil {
			return zero, serr
		}
	}
}

// do is retry for calls whose output is not needed.
func do[T any](ctx context.Context, d *Deployer, resource string, fn func(context.Context) (T, error)) error {
	_, err := retry(ctx, d, resource, fn)
	return err
}

const deployPermissionsHint = "the credentials need lambda:*, iam:GetRole/CreateRole/PutRolePolicy/AttachRolePolicy/PassRole, events:*Rule*/*Targets/*EventBus*, logs:CreateLogGroup/PutRetentionPolicy/DescribeLogGroups and dynamodb:CreateTable/DescribeTable/UpdateTimeToLive (with workflows: states:*StateMachine*/ListTagsForResource and iam:PassRole on their roles)"

// wrapDeployErr gives an SDK error its portable code, the resource and a
// next step.
func wrapDeployErr(resource string, err error) error {
	return classify(resource, err, func(c providers.Code) string {
		switch c {
		case providers.PermissionDenied:
			return deployPermissionsHint
		case providers.Throttled:
			return "retry later or lower --concurrency"
		}
		return ""
	})
}

// redacted hides the values of env in err's message (a validation error may
// quote them); the chain stays inspectable with errors.As.
func redacted(err error, env map[string]string) error {
	if err == nil || len(env) == 0 {
		return err
	}
	var pe *providers.Error
	if !errors.As(err, &pe) {
		return err
	}
	msg := pe.Err.Error()
	vals := make([]string, 0, len(env))
	for _, v := range env {
		if len(v) >= 3 {
			vals = append(vals, v)
		}
	}
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	clean := msg
	for _, v := range vals {
		clean = strings.ReplaceAll(clean, v, "***")
	}
	if clean == msg {
		return err
	}
	cp := *pe
	cp.Err = &redactedError{msg: clean, err: pe.Err}
	return &cp
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// ---- reading what is deployed ----

// ruleMeta is kept in a rule's Description so that Deployed returns the
// RuleSpec as it was given (its id and the bus as spelled), whatever the
// rule's (possibly shortened) name.
type ruleMeta struct {
	Project  string `json:"project"`
	Function string `json:"function,omitempty"`
	// Workflow is set instead of Function on a rule that starts an
	// execution of the project's workflow of that name.
	Workflow string `json:"workflow,omitempty"`
	ID       string `json:"id"`
	Bus      string `json:"bus"`
}

const ruleDescPrefix = "evcli "

func (m ruleMeta) description() string {
	b, _ := json.Marshal(m)
	return ruleDescPrefix + string(b)
}

func parseRuleMeta(desc string) (ruleMeta, bool) {
	var m ruleMeta
	if !strings.HasPrefix(desc, ruleDescPrefix) || json.Unmarshal([]byte(desc[len(ruleDescPrefix):]), &m) != nil {
		return m, false
	}
	return m, (m.Function != "" || m.Workflow != "") && m.ID != ""
}

// deployedRule is one of the project's rules as EventBridge has it.
type deployedRule struct {
	Name, Bus, Arn, Pattern, Description, State string
	Meta                                        ruleMeta
}

// projectRules lists the rules named with the project's prefix on every
// bus, keeping those whose description says this project made them. With
// function set, only that function's rules.
func (d *Deployer) projectRules(ctx context.Context, function string) ([]deployedRule, error) {
	buses, err := d.listBuses(ctx)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var out []deployedRule
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.o.ReadConcurrency)
	for _, bus := range buses {
		g.Go(func() error {
			rs, err := d.busRules(gctx, bus, function)
			mu.Lock()
			out = append(out, rs...)
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bus != out[j].Bus {
			return out[i].Bus < out[j].Bus
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func (d *Deployer) busRules(ctx context.Context, bus, function string) ([]deployedRule, error) {
	return d.busRulesWhere(ctx, bus, func(m ruleMeta) bool { return m.Function != "" && (function == "" || m.Function == function) })
}

// busRulesWhere lists the project's rules on bus whose metadata keep
// accepts (function rules, workflow rules or both).
func (d *Deployer) busRulesWhere(ctx context.Context, bus string, keep func(ruleMeta) bool) ([]deployedRule, error) {
	var out []deployedRule
	var token *string
	for {
		page, err := retry(ctx, d, busResource(bus), func(ctx context.Context) (*eventbridge.ListRulesOutput, error) {
			return d.events.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String(bus), NamePrefix: aws.String(d.o.Project + "-"), NextToken: token})
		})
		if err != nil {
			return nil, err
		}
		for _, r := range page.Rules {
			m, ok := parseRuleMeta(aws.ToString(r.Description))
			if !ok || m.Project != d.o.Project || !keep(m) {
				continue
			}
			b := aws.ToString(r.EventBusName)
			if b == "" {
				b = bus
			}
			out = append(out, deployedRule{Name: aws.ToString(r.Name), Bus: b, Arn: aws.ToString(r.Arn),
				Pattern: aws.ToString(r.EventPattern), Description: aws.ToString(r.Description), State: string(r.State), Meta: m})
		}
		if token = page.NextToken; token == nil || *token == "" {
			return out, nil
		}
	}
}

// listBuses names every event bus of the account and region.
func (d *Deployer) listBuses(ctx context.Context) ([]string, error) {
	buses, err := d.eachBus(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(buses)+1)
	for _, b := range buses {
		out = append(out, aws.ToString(b.Name))
	}
	if !slices.Contains(out, "default") {
		out = append(out, "default")
	}
	return out, nil
}

// eachBus lists the event buses of the account and region, every page.
func (d *Deployer) eachBus(ctx context.Context) ([]ebtypes.EventBus, error) {
	var out []ebtypes.EventBus
	var token *string
	for {
		page, err := retry(ctx, d, "eventbridge buses", func(ctx context.Context) (*eventbridge.ListEventBusesOutput, error) {
			return d.events.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{NextToken: token})
		})
		if err != nil {
			return nil, err
		}
		out = append(out, page.EventBuses...)
		if token = page.NextToken; token == nil || *token == "" {
			return out, nil
		}
	}
}

// Deployed implements providers.Deployer. It lists the functions tagged
// evcli:project=<Project> (ListFunctions; GetFunction for tags and reserved
// concurrency; GetFunctionConfiguration of the live alias, so a function
// whose $LATEST was updated but not published reads as not deployed) and
// their rules
// (ListRules on every bus with the project's prefix; a rule counts only when
// it targets the live alias and EventBridge may invoke it). Only read calls,
// ReadConcurrency at a time. A function without a live alias is returned
// with an empty CodeSha256, so the plan updates (and publishes) it.
func (d *Deployer) Deployed(ctx context.Context) ([]providers.FunctionDeployment, error) {
	return d.deployed(ctx, nil)
}

// DeployedFunctions is Deployed for the named functions only (deploy
// --function): it reads just those, without listing the account's
// functions. A name that does not exist or is not this project's is left
// out.
func (d *Deployer) DeployedFunctions(ctx context.Context, names []string) ([]providers.FunctionDeployment, error) {
	if names == nil {
		names = []string{}
	}
	return d.deployed(ctx, names)
}

// deployed reads the project's functions among names (short names, as in
// evcli.yaml), or, when names is nil, those the account lists under the
// project's prefix, the project's own names (o.Functions) and the names its
// rules refer to: functions deployed under the earlier, bare naming are
// found too (PhysicalName tells which). Other projects' functions are not
// read unless they carry this project's prefix.
func (d *Deployer) deployed(ctx context.Context, names []string) ([]providers.FunctionDeployment, error) {
	var rules []deployedRule
	var listed []string
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.o.ReadConcurrency)
	g.Go(func() error {
		var err error
		rules, err = d.projectRules(gctx, "")
		return err
	})
	if names == nil {
		g.Go(func() error {
			var err error
			listed, err = d.listFunctionNames(gctx)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// The physical names to read: each candidate short name under both
	// namings, and every listed name with the project's prefix.
	wanted := map[string]bool{} // physical names this project will use
	for _, fn := range d.o.Functions {
		wanted[d.physical(fn)] = true
	}
	var phys []string
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			phys = append(phys, n)
		}
	}
	if names != nil {
		for _, n := range names {
			wanted[d.physical(n)] = true
			add(d.physical(n))
			add(n)
		}
	} else {
		exists := map[string]bool{}
		for _, n := range listed {
			exists[n] = true
			if strings.HasPrefix(n, d.o.Project+"-") {
				add(n)
			}
		}
		legacy := slices.Clone(d.o.Functions)
		for _, r := range rules {
			legacy = append(legacy, r.Meta.Function)
		}
		for _, n := range legacy {
			if exists[n] {
				add(n)
			}
		}
	}
	fds := make([]*providers.FunctionDeployment, len(phys))
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(d.o.ReadConcurrency)
	for i, name := range phys {
		g.Go(func() error {
			fd, err := d.readFunction(gctx, name, wanted[name])
			fds[i] = fd
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// One deployment per short name: the one under the current naming
	// wins over one under the earlier naming.
	byName := map[string]*providers.FunctionDeployment{}
	for _, fd := range fds {
		if fd == nil {
			continue
		}
		if names != nil && !slices.Contains(names, fd.Name) {
			continue
		}
		if names == nil && isWriter(fd.Name) {
			continue // a project resource (the plan's "writer"), not a function of evcli.yaml
		}
		if prev := byName[fd.Name]; prev != nil {
			cur, earlier := prev, fd
			if fd.PhysicalName == d.physical(fd.Name) {
				cur, earlier = fd, prev
			}
			cur.Earlier = earlier.PhysicalName
			byName[fd.Name] = cur
			continue
		}
		byName[fd.Name] = fd
	}
	// Targets and permissions of the rules, in parallel.
	type ruleOK struct {
		r  deployedRule
		ok bool
	}
	checks := make([]ruleOK, 0, len(rules))
	for _, r := range rules {
		if byName[r.Meta.Function] != nil {
			checks = append(checks, ruleOK{r: r})
		}
	}
	policies := map[string]invokeGrants{}
	var pmu sync.Mutex
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(d.o.ReadConcurrency)
	for fn, fd := range byName {
		if !slices.ContainsFunc(checks, func(c ruleOK) bool { return c.r.Meta.Function == fn }) {
			continue
		}
		g.Go(func() error {
			sids, err := d.policyStatements(gctx, fd.PhysicalName)
			pmu.Lock()
			policies[fn] = sids
			pmu.Unlock()
			return err
		})
	}
	for _, fd := range byName {
		if fd.PhysicalName != d.physical(fd.Name) {
			continue // the rename re-creates everything
		}
		g.Go(func() error {
			drift, err := d.drift(gctx, fd)
			fd.Drift = drift
			return err
		})
	}
	for i := range checks {
		g.Go(func() error {
			c := &checks[i]
			arns, err := d.ruleTargets(gctx, c.r)
			if err != nil {
				return err
			}
			phys := byName[c.r.Meta.Function].PhysicalName
			c.ok = slices.ContainsFunc(arns, func(a string) bool { return strings.HasSuffix(a, ":function:"+phys+":"+AliasLive) })
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, c := range checks {
		if !c.ok || !policies[c.r.Meta.Function].allows(statementID(c.r.Bus, c.r.Name), c.r.Arn) {
			continue
		}
		fd := byName[c.r.Meta.Function]
		fd.Rules = append(fd.Rules, providers.RuleSpec{ID: c.r.Meta.ID, Bus: c.r.Meta.Bus, Pattern: json.RawMessage(c.r.Pattern)})
		if c.r.State != "" && c.r.State != string(ebtypes.RuleStateEnabled) {
			fd.Drift = append(fd.Drift, "rule "+c.r.Name+" "+strings.ToLower(c.r.State)+" -> enabled")
		}
	}
	out := make([]providers.FunctionDeployment, 0, len(byName))
	for _, fd := range byName {
		out = append(out, *fd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// listFunctionNames names every function of the account and region (one
// ListFunctions page per 50 functions; no per-function call).
func (d *Deployer) listFunctionNames(ctx context.Context) ([]string, error) {
	names := []string{}
	var marker *string
	for {
		page, err := retry(ctx, d, "lambda functions", func(ctx context.Context) (*lambda.ListFunctionsOutput, error) {
			return d.lambda.ListFunctions(ctx, &lambda.ListFunctionsInput{Marker: marker})
		})
		if err != nil {
			return nil, err
		}
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
		if marker = page.NextMarker; marker == nil || *marker == "" {
			return names, nil
		}
	}
}

// readFunction returns the function's live state, or nil when it is not
// this project's. GetFunction on the function gives its tags and reserved
// concurrency (function-level: a qualified GetFunction returns only what is
// specific to the version); GetFunctionConfiguration on the live alias gives
// what is live.
//
// name is a physical name. With wanted set (the project will use that
// name), a function of that name that is not this project's is a Conflict:
// the plan fails before anything is written.
func (d *Deployer) readFunction(ctx context.Context, name string, wanted bool) (*providers.FunctionDeployment, error) {
	res := "function " + name
	out, err := retry(ctx, d, res, func(ctx context.Context) (*lambda.GetFunctionOutput, error) {
		return d.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	})
	if providers.CodeOf(err) == providers.NotFound {
		return nil, nil // deleted meanwhile
	}
	if err != nil {
		return nil, err
	}
	if out.Tags[TagProject] != d.o.Project && wanted {
		return nil, collision(res, out.Tags[TagProject])
	}
	if out.Tags[TagProject] != d.o.Project || out.Configuration == nil {
		return nil, nil
	}
	short := out.Tags[TagFunction]
	if short == "" {
		short = strings.TrimPrefix(name, d.o.Project+"-")
	}
	conf, live := out.Configuration, true
	lc, err := retry(ctx, d, res, func(ctx context.Context) (*lambda.GetFunctionConfigurationOutput, error) {
		return d.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name), Qualifier: aws.String(AliasLive)})
	})
	switch {
	case err == nil:
		conf = configOf(lc)
	case providers.CodeOf(err) == providers.NotFound:
		live = false
	default:
		return nil, err
	}
	fd := d.fromConfig(short, conf, out.Tags)
	fd.PhysicalName = name
	if out.Concurrency != nil && out.Concurrency.ReservedConcurrentExecutions != nil {
		fd.Concurrency = int(*out.Concurrency.ReservedConcurrentExecutions)
	}
	if !live {
		fd.CodeSha256 = "" // never published: the plan updates it, which publishes
	}
	return &fd, nil
}

// fromConfig maps Lambda's configuration to a FunctionDeployment.
func (d *Deployer) fromConfig(name string, c *ltypes.FunctionConfiguration, tags map[string]string) providers.FunctionDeployment {
	fd := providers.FunctionDeployment{
		Name: name, Runtime: string(c.Runtime), Handler: aws.ToString(c.Handler), Architecture: "x86_64",
		MemoryMB: int(aws.ToInt32(c.MemorySize)), TimeoutS: int(aws.ToInt32(c.Timeout)),
		CodeSha256: aws.ToString(c.CodeSha256), Role: aws.ToString(c.Role),
		Correlation: decodeTagValue(tags[tagCorrelation]),
	}
	if len(c.Architectures) > 0 {
		fd.Architecture = string(c.Architectures[0])
	}
	if c.Environment != nil && len(c.Environment.Variables) > 0 {
		fd.Env = c.Environment.Variables
	}
	if s := tags[tagSecrets]; s != "" {
		fd.SecretNames = strings.Fields(s)
	}
	if strings.HasSuffix(fd.Role, "/"+d.roleName(name)) || strings.HasSuffix(fd.Role, "/"+RoleName(d.o.Project, name)) {
		fd.Role = "" // evcli's own role (either naming): what a function without role: in evcli.yaml wants
	}
	return fd
}

// invokeGrants are the statements of the live alias's resource policy:
// their ids, and the rules (by ARN) EventBridge may invoke the alias for.
// A permission evcli made is known by its statement id; one CloudFormation
// or Terraform made from an exported template (whose ids CloudFormation
// chooses) by its principal and source ARN.
type invokeGrants struct {
	sids, sources map[string]bool
}

// allows reports whether the policy lets rule ruleARN invoke the alias.
func (g invokeGrants) allows(sid, ruleARN string) bool {
	return g.sids[sid] || (ruleARN != "" && g.sources[ruleARN])
}

// policyStatements reads the live alias's resource policy (empty when it
// has none).
func (d *Deployer) policyStatements(ctx context.Context, fn string) (invokeGrants, error) {
	g := invokeGrants{sids: map[string]bool{}, sources: map[string]bool{}}
	out, err := retry(ctx, d, "function "+fn, func(ctx context.Context) (*lambda.GetPolicyOutput, error) {
		return d.lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(fn), Qualifier: aws.String(AliasLive)})
	})
	if providers.CodeOf(err) == providers.NotFound {
		return g, nil
	}
	if err != nil {
		return g, err
	}
	var doc struct {
		Statement []struct {
			Sid       string
			Effect    string
			Action    any
			Principal struct{ Service any }
			Condition struct {
				ArnLike map[string]string
			}
		} `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc); err != nil {
		return g, wrapDeployErr("function "+fn, fmt.Errorf("resource policy is not JSON: %w", err))
	}
	for _, st := range doc.Statement {
		g.sids[st.Sid] = true
		if st.Effect == "Allow" && st.Principal.Service == "events.amazonaws.com" && st.Action == "lambda:InvokeFunction" {
			if src := st.Condition.ArnLike["AWS:SourceArn"]; src != "" {
				g.sources[src] = true
			}
		}
	}
	return g, nil
}

// ruleTargets returns the ARNs the rule targets.
func (d *Deployer) ruleTargets(ctx context.Context, r deployedRule) ([]string, error) {
	var arns []string
	var token *string
	for {
		page, err := retry(ctx, d, "rule "+r.Name, func(ctx context.Context) (*eventbridge.ListTargetsByRuleOutput, error) {
			return d.events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(r.Name), EventBusName: aws.String(r.Bus), NextToken: token})
		})
		if providers.CodeOf(err) == providers.NotFound {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, t := range page.Targets {
			arns = append(arns, aws.ToString(t.Arn))
		}
		if token = page.NextToken; token == nil || *token == "" {
			return arns, nil
		}
	}
}

// encodeTagValue keeps a value within the characters tag values allow
// (letters, digits, spaces and _.:/=+-@), base64url-encoding it otherwise.
func encodeTagValue(s string) string {
	ok := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" _.:/=+-@", r)) {
			ok = false
			break
		}
	}
	if ok && !strings.HasPrefix(s, "b64:") {
		return s
	}
	return "b64:" + base64URL([]byte(s))
}

func decodeTagValue(s string) string {
	if rest, ok := strings.CutPrefix(s, "b64:"); ok {
		if b, err := unbase64URL(rest); err == nil {
			return string(b)
		}
	}
	return s
}

var (
	_ providers.Deployer       = (*Deployer)(nil)
	_ providers.SharedDeployer = (*Deployer)(nil)
	_ providers.Rollbacker     = (*Deployer)(nil)
	_ providers.Invoker        = (*Deployer)(nil)
)
var _ providers.NamedReader = (*Deployer)(nil)
