package gcp

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	admin "cloud.google.com/go/firestore/apiv1/admin"
	functions "cloud.google.com/go/functions/apiv2"
	"cloud.google.com/go/functions/apiv2/functionspb"
	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	gax "github.com/googleapis/gax-go/v2"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/evcli/evcli/providers"
)

// Labels and environment variables evcli keeps on a function. Labels are
// what Google can filter the listing by (lower case values); the exact
// names and the rules travel in the function's environment, where the
// entrypoint's guard reads them too. Deployed leaves the EVCLI_ variables
// out of the environment it reports.
const (
	LabelProject     = "evcli-project"
	LabelSource      = "evcli-source"        // the source zip's SHA-256, base32, lower case
	LabelMaxInstance = "evcli-max-instances" // "set": evcli.yaml's concurrency is the function's max instances
	LabelAccount     = "evcli-service-account"

	EnvProject     = "EVCLI_PROJECT"
	EnvFunction    = "EVCLI_FUNCTION"
	EnvRules       = "EVCLI_RULES"
	EnvCorrelation = "EVCLI_CORRELATION"
)

// EnvGuard opts a project into the in-function guard (as evcli.yaml's
// gcp.guard, which cmd passes as OpenOptions.InFunctionGuard, and which
// the project loader also reads from this variable): a rule whose pattern
// Pub/Sub cannot enforce whole is deployed only with "in-function", which
// says the function's code matches the whole pattern (the rules are in its
// EVCLI_RULES) and acknowledges what does not match: for Node.js
// functions evcli generates that entrypoint (guardzip.go, package guard);
// for other runtimes the pattern is refused even with the opt-in. Without
// it, CheckRules refuses the pattern before anything is planned, naming
// each operator and its file:line:col.
const EnvGuard = "EVCLI_GCP_GUARD"

// deployer deploys a project's functions to Cloud Functions (2nd gen) and
// its rules as Pub/Sub push subscriptions; it is also the project's shared
// deployer (the bus topic), invoker and router.
type deployer struct {
	fn      *functions.FunctionClient
	bus     *pubSub
	c       *config
	project string
	sleep   func(context.Context, time.Duration) error
	http    *http.Client
	guard   bool
	warnf   func(string, ...any)
	store   providers.StoreSpec
	run     iamPolicies // Cloud Run's services (the invoker role); set by Open

	adminMu sync.Mutex
	admin   *admin.FirestoreAdminClient // made on first use (storewriter.go)

	smMu sync.Mutex
	sm   *secretmanager.Client // made on first use (secrets.go)
}

func newDeployer(ctx context.Context, c *config, bus *pubSub, o providers.OpenOptions) (*deployer, error) {
	client, err := functions.NewFunctionClient(ctx, c.clientOptions(c.functions)...)
	if err != nil {
		return nil, classify("cloudfunctions", err)
	}
	sleep := o.Sleep
	if sleep == nil {
		sleep = providers.Sleep
	}
	return &deployer{fn: client, bus: bus, c: c, project: o.Project, sleep: sleep, http: http.DefaultClient,
		guard: o.InFunctionGuard || c.getenv(EnvGuard) == "in-function", warnf: o.Warnf, store: o.Store}, nil
}

func (d *deployer) close() error {
	err := d.fn.Close()
	d.adminMu.Lock()
	defer d.adminMu.Unlock()
	if d.admin != nil {
		err = errors.Join(err, d.admin.Close())
	}
	d.smMu.Lock()
	defer d.smMu.Unlock()
	if d.sm != nil {
		err = errors.Join(err, d.sm.Close())
	}
	return err
}

// As exposes the client: **functions.FunctionClient.
func (d *deployer) As(target any) bool {
	if t, ok := target.(**functions.FunctionClient); ok {
		*t = d.fn
		return true
	}
	return false
}

func (d *deployer) parent() string {
	return "projects/" + d.c.cloudProject + "/locations/" + d.c.region
}

func (d *deployer) fullName(fn string) string {
	return d.parent() + "/functions/" + FunctionID(d.project, fn)
}

// PhysicalName implements providers.Namer.
func (d *deployer) PhysicalName(fn string) string { return FunctionID(d.project, fn) }

// Deployed lists the project's functions (label evcli-project, then the
// exact project in the environment) with one paged ListFunctions: read
// calls only.
func (d *deployer) Deployed(ctx context.Context) ([]providers.FunctionDeployment, error) {
	it := d.fn.ListFunctions(ctx, &functionspb.ListFunctionsRequest{Parent: d.parent(),
		Filter: fmt.Sprintf(`labels.%s="%s"`, LabelProject, LabelValue(d.project))})
	var out []providers.FunctionDeployment
	for {
		f, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, classify("functions in "+d.parent(), err)
		}
		if fd, ok := d.toDeployment(f); ok && !isWriter(fd.Name) {
			if err := d.readSecrets(ctx, &fd, f); err != nil {
				return nil, err
			}
			out = append(out, fd)
		}
	}
	return out, nil
}

// DeployedFunctions implements providers.NamedReader: one GetFunction each.
func (d *deployer) DeployedFunctions(ctx context.Context, names []string) ([]providers.FunctionDeployment, error) {
	var out []providers.FunctionDeployment
	for _, n := range names {
		if isWriter(n) {
			continue
		}
		f, err := d.fn.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: d.fullName(n)})
		if providers.CodeOf(classify("", err)) == providers.NotFound {
			continue
		}
		if err != nil {
			return nil, classify("function "+n, err)
		}
		if fd, ok := d.toDeployment(f); ok {
			if err := d.readSecrets(ctx, &fd, f); err != nil {
				return nil, err
			}
			out = append(out, fd)
		}
	}
	return out, nil
}

// toDeployment reads a function as evcli deployed it; ok is false for a
// function of another project.
func (d *deployer) toDeployment(f *functionspb.Function) (providers.FunctionDeployment, bool) {
	sc := f.GetServiceConfig()
	env := sc.GetEnvironmentVariables()
	if env[EnvProject] != d.project || env[EnvFunction] == "" {
		return providers.FunctionDeployment{}, false
	}
	fd := providers.FunctionDeployment{
		Name:         env[EnvFunction],
		PhysicalName: f.Name[strings.LastIndex(f.Name, "/")+1:],
		Runtime:      evcliRuntime(f.GetBuildConfig().GetRuntime()),
		Handler:      f.GetBuildConfig().GetEntryPoint(),
		Architecture: "x86_64",
		MemoryMB:     memoryMB(sc.GetAvailableMemory()),
		TimeoutS:     int(sc.GetTimeoutSeconds()),
		CodeSha256:   codeSha256(f.Labels[LabelSource]),
		Correlation:  env[EnvCorrelation],
		Env:          map[string]string{},
	}
	if f.Labels[LabelMaxInstance] == "set" {
		fd.Concurrency = int(sc.GetMaxInstanceCount())
	}
	if f.Labels[LabelAccount] == "set" {
		fd.Role = sc.GetServiceAccountEmail()
	}
	for k, v := range env {
		if !strings.HasPrefix(k, "EVCLI_") {
			fd.Env[k] = v
		}
	}
	if r := env[EnvRules]; r != "" {
		if err := json.Unmarshal([]byte(r), &fd.Rules); err != nil {
			fd.Drift = append(fd.Drift, "rules unreadable ("+EnvRules+" was changed outside evcli)")
		}
	}
	if f.State != functionspb.Function_ACTIVE {
		fd.Drift = append(fd.Drift, "state "+f.State.String())
	}
	return fd, true
}

// Runtimes: evcli.yaml names them as Lambda does; Cloud Functions as
// python312, nodejs22.
func gcfRuntime(rt string) (string, error) {
	switch {
	case strings.HasPrefix(rt, "python3."):
		return "python3" + strings.TrimPrefix(rt, "python3."), nil
	case strings.HasPrefix(rt, "nodejs") && strings.HasSuffix(rt, ".x"):
		return strings.TrimSuffix(rt, ".x"), nil
	case strings.HasPrefix(rt, "provided"):
		return "", &providers.Error{Code: providers.InvalidArgument, Resource: "runtime " + rt,
			Err:  errors.New("Cloud Functions builds Go from source with Google's buildpacks; a provided.* bootstrap binary does not run there"),
			Hint: "deploy Go handlers to gcp as a functions-framework-go package (go.mod at the function's root)"}
	}
	return rt, nil
}

func evcliRuntime(rt string) string {
	switch {
	case strings.HasPrefix(rt, "python3") && len(rt) > len("python3"):
		return "python3." + strings.TrimPrefix(rt, "python3")
	case strings.HasPrefix(rt, "nodejs"):
		return rt + ".x"
	}
	return rt
}

// memoryMB reads available_memory ("256M", "512Mi", "1Gi", "2G", bytes) in
// MiB. M and G are read as Mi and Gi, as Google's memory tiers name them
// (its default, "256M", is the 256 MiB tier).
func memoryMB(s string) int {
	num := strings.TrimRight(s, "kKMGiT")
	unit := s[len(num):]
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0
	}
	switch unit {
	case "k":
		n /= 1000 * 1.048576
	case "Ki":
		n /= 1024
	case "", "B":
		n /= 1 << 20
	case "G", "Gi":
		n *= 1024
	}
	return int(n + 0.5)
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// sourceLabel is a CodeSha256 (base64) as a label value (base32, lower case).
func sourceLabel(codeSha256 string) string {
	raw, err := base64.StdEncoding.DecodeString(codeSha256)
	if err != nil {
		return LabelValue(codeSha256)
	}
	return strings.ToLower(b32.EncodeToString(raw))
}

func codeSha256(label string) string {
	raw, err := b32.DecodeString(strings.ToUpper(label))
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// desired is the function fd should be, without its source.
func (d *deployer) desired(fd providers.FunctionDeployment) (*functionspb.Function, error) {
	if fd.Architecture != "" && fd.Architecture != "x86_64" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: fd.Name,
			Err: fmt.Errorf("Cloud Functions runs x86_64 only, not %s", fd.Architecture), Hint: "remove architecture from the function in evcli.yaml"}
	}
	rt, err := gcfRuntime(fd.Runtime)
	if err != nil {
		return nil, err
	}
	env := maps.Clone(fd.Env)
	if env == nil {
		env = map[string]string{}
	}
	for _, k := range fd.SecretNames {
		delete(env, k) // a Secret Manager reference (secrets.go), never a value here
	}
	env[EnvProject], env[EnvFunction] = d.project, fd.Name
	if fd.Correlation != "" {
		env[EnvCorrelation] = fd.Correlation
	}
	if len(fd.Rules) > 0 {
		if err := d.CheckRules([]providers.FunctionDeployment{fd}); err != nil {
			return nil, err
		}
		b, err := json.Marshal(fd.Rules)
		if err != nil {
			return nil, err
		}
		env[EnvRules] = string(b)
	}
	labels := map[string]string{LabelProject: LabelValue(d.project), LabelSource: sourceLabel(fd.CodeSha256)}
	if d.guard && needsGuard(fd) {
		genv, err := d.guardEnv(fd)
		if err != nil {
			return nil, err
		}
		maps.Copy(env, genv)
		labels[LabelGuard] = guardVersion()
	}
	sc := &functionspb.ServiceConfig{
		AvailableMemory:      strconv.Itoa(fd.MemoryMB) + "Mi",
		TimeoutSeconds:       int32(fd.TimeoutS),
		EnvironmentVariables: env,
	}
	if fd.Concurrency > 0 {
		sc.MaxInstanceCount = int32(fd.Concurrency)
		labels[LabelMaxInstance] = "set"
	}
	if fd.Role != "" {
		sc.ServiceAccountEmail = fd.Role
		labels[LabelAccount] = "set"
	}
	return &functionspb.Function{
		Name:          d.fullName(fd.Name),
		Description:   "evcli project " + d.project + ", function " + fd.Name,
		Labels:        labels,
		BuildConfig:   &functionspb.BuildConfig{Runtime: rt, EntryPoint: fd.Handler},
		ServiceConfig: sc,
	}, nil
}

// CheckRules implements providers.RuleChecker: without the guard opt-in,
// every part of a pattern Pub/Sub filters cannot enforce is refused
// (Unsupported, exit 2) before anything is planned, each on its own line
// with its place in evcli.yaml (file:line:col of the operator), the
// member and the operator.
func (d *deployer) CheckRules(fds []providers.FunctionDeployment) error {
	var lines []string
	for _, fd := range fds {
		for i, r := range fd.Rules {
			tr, err := Translate(r.Pattern)
			if err != nil {
				return &providers.Error{Code: providers.InvalidArgument, Resource: fd.Name + " rule " + r.ID, Err: err}
			}
			if !tr.NeedsGuard() {
				continue
			}
			if d.guard {
				if !strings.HasPrefix(fd.Runtime, "nodejs") && fd.Runtime != "" {
					where := fmt.Sprintf("function %s events[%d]", fd.Name, i)
					if pos := r.Where.PosOf(); pos != "" {
						where = pos + ": " + where
					}
					lines = append(lines, where+": the in-function guard is generated for Node.js functions only, not "+fd.Runtime+
						" (it would deliver events the pattern does not match: "+strings.Join(tr.Guarded, "; ")+"); write the function in Node.js or change the pattern")
				}
				continue
			}
			for _, part := range tr.Parts {
				keys := part.Path
				if part.IsOperator {
					keys = append(slices.Clone(keys), part.Operator)
				}
				where := fmt.Sprintf("function %s events[%d]", fd.Name, i)
				if pos := r.Where.PosOf(keys...); pos != "" {
					where = pos + ": " + where
				}
				what := "the pattern: " + part.Operator
				if len(part.Path) > 0 {
					what = strings.Join(part.Path, ".") + ": " + part.Operator
					if part.IsOperator {
						what = fmt.Sprintf("operator %q on %s", part.Operator, strings.Join(part.Path, "."))
					} else if part.Operator == "exact" {
						what = "exact values of " + strings.Join(part.Path, ".")
					}
				}
				lines = append(lines, where+": "+what)
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return &providers.Error{Code: providers.Unsupported,
		Err: fmt.Errorf("Pub/Sub subscription filters cannot enforce %d part(s) of the patterns (they read only the attributes source, detail-type and id, with exact values, prefix, anything-but and exists):\n  %s",
			len(lines), strings.Join(lines, "\n  ")),
		Hint: "change the pattern to what Pub/Sub can filter, or set gcp.guard: in-function in evcli.yaml (or EVCLI_GCP_GUARD=in-function): evcli then ships a generated entrypoint with its pattern engine in each Node.js function's zip, which runs the handler only for events the pattern matches"}
}

// updateMask names the fields of want that differ from cur.
func updateMask(cur, want *functionspb.Function, codeChanged bool) []string {
	var paths []string
	add := func(p string, differ bool) {
		if differ {
			paths = append(paths, p)
		}
	}
	cb, wb := cur.GetBuildConfig(), want.GetBuildConfig()
	cs, ws := cur.GetServiceConfig(), want.GetServiceConfig()
	add("labels", !maps.Equal(cur.Labels, want.Labels))
	add("description", cur.Description != want.Description)
	add("build_config.source", codeChanged)
	add("build_config.runtime", cb.GetRuntime() != wb.GetRuntime())
	add("build_config.entry_point", cb.GetEntryPoint() != wb.GetEntryPoint())
	add("service_config.available_memory", memoryMB(cs.GetAvailableMemory()) != memoryMB(ws.GetAvailableMemory()))
	add("service_config.timeout_seconds", cs.GetTimeoutSeconds() != ws.GetTimeoutSeconds())
	add("service_config.environment_variables", !maps.Equal(cs.GetEnvironmentVariables(), ws.GetEnvironmentVariables()))
	add("service_config.secret_environment_variables", !sameSecretRefs(cs.GetSecretEnvironmentVariables(), ws.GetSecretEnvironmentVariables()))
	// Unset (0, ""), Google's default applies: only a value evcli set, or
	// one it set before, is compared.
	add("service_config.max_instance_count", (ws.GetMaxInstanceCount() != 0 || cur.Labels[LabelMaxInstance] == "set") &&
		cs.GetMaxInstanceCount() != ws.GetMaxInstanceCount())
	add("service_config.service_account_email", (ws.GetServiceAccountEmail() != "" || cur.Labels[LabelAccount] == "set") &&
		cs.GetServiceAccountEmail() != ws.GetServiceAccountEmail())
	return paths
}

// ApplyFunction creates or updates one function so that it matches fd —
// uploading the source only when codeChanged, updating only the fields
// that differ, waiting on the long-running operation with its stages as
// progress — and then converges its rules' subscriptions.
func (d *deployer) ApplyFunction(ctx context.Context, fd providers.FunctionDeployment, codeChanged bool, step func(string)) error {
	if step == nil {
		step = func(string) {}
	}
	want, err := d.desired(fd)
	if err != nil {
		return err
	}
	cur, err := d.fn.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: want.Name})
	if err = classify("function "+fd.Name, err); err != nil && providers.CodeOf(err) != providers.NotFound {
		return err
	}
	if cur != nil && cur.GetServiceConfig().GetEnvironmentVariables()[EnvProject] != d.project {
		return collision("function "+want.Name, cur.GetServiceConfig().GetEnvironmentVariables()[EnvProject])
	}
	// Secrets (secrets.go) need the account that reads them: known before
	// the write when evcli.yaml names it or the function keeps Google's
	// default one it has; a new function on the default account (or one
	// going back to it) learns it from its first write, which goes
	// without the secrets, and a second write adds them.
	account := fd.Role
	if account == "" && cur != nil && cur.Labels[LabelAccount] != "set" {
		account = cur.GetServiceConfig().GetServiceAccountEmail()
	}
	secretsLater := len(fd.SecretNames) > 0 && account == ""
	if len(fd.SecretNames) > 0 && account != "" {
		refs, err := d.ensureSecrets(ctx, fd, account, step)
		if err != nil {
			return err
		}
		want.ServiceConfig.SecretEnvironmentVariables = refs
	}
	var paths []string
	if cur != nil {
		// A new guard (another evcli) or the guard added or removed is new code.
		codeChanged = codeChanged || cur.Labels[LabelGuard] != want.Labels[LabelGuard]
		paths = updateMask(cur, want, codeChanged)
	}
	if cur == nil || slices.Contains(paths, "build_config.source") {
		step("upload source")
		src, err := d.upload(ctx, fd)
		if err != nil {
			return err
		}
		want.BuildConfig.Source = &functionspb.Source{Source: &functionspb.Source_StorageSource{StorageSource: src}}
	}
	var live *functionspb.Function
	switch {
	case cur == nil:
		step("create function")
		op, err := d.fn.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: d.parent(), Function: want,
			FunctionId: FunctionID(d.project, fd.Name)})
		if err != nil {
			return classify("function "+fd.Name, err)
		}
		if live, err = d.wait(ctx, fd.Name, op, step); err != nil {
			// Without its secrets the first revision may fail to start
			// (code that reads one at import): the function exists, its
			// account is known, and the update with the secrets below
			// starts a new revision.
			made, gerr := d.fn.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: want.Name})
			if !secretsLater || gerr != nil || made.GetServiceConfig().GetServiceAccountEmail() == "" {
				return err
			}
			step("the first revision failed without its secrets; adding them")
			live = made
		}
	case len(paths) > 0:
		step("update " + strings.Join(paths, ", "))
		op, err := d.fn.UpdateFunction(ctx, &functionspb.UpdateFunctionRequest{Function: want,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
		if err != nil {
			return classify("function "+fd.Name, err)
		}
		if live, err = d.wait(ctx, fd.Name, op, step); err != nil {
			return err
		}
	default:
		live = cur
	}
	if secretsLater {
		refs, err := d.ensureSecrets(ctx, fd, live.GetServiceConfig().GetServiceAccountEmail(), step)
		if err != nil {
			return err
		}
		want.ServiceConfig.SecretEnvironmentVariables = refs
		step("update service_config.secret_environment_variables")
		op, err := d.fn.UpdateFunction(ctx, &functionspb.UpdateFunctionRequest{Function: want,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"service_config.secret_environment_variables"}}})
		if err != nil {
			return classify("function "+fd.Name, err)
		}
		if live, err = d.wait(ctx, fd.Name, op, step); err != nil {
			return err
		}
	}
	if cur != nil {
		if err := d.pruneSecrets(ctx, fd.Name, cur, want, step); err != nil {
			return err
		}
	}
	return d.convergeRules(ctx, fd, live, step)
}

// lro is a Create or Update operation of the functions client.
type lro interface {
	Poll(ctx context.Context, opts ...gax.CallOption) (*functionspb.Function, error)
	Metadata() (*functionspb.OperationMetadata, error)
	Done() bool
}

// wait polls op until it is done, reporting each stage as it starts, with
// backoff through d.sleep (1 s doubling to 10 s: a build takes minutes).
func (d *deployer) wait(ctx context.Context, name string, op lro, step func(string)) (*functionspb.Function, error) {
	delay, last := time.Second, ""
	for {
		f, err := op.Poll(ctx)
		if err != nil {
			return nil, classify("function "+name, err)
		}
		if md, _ := op.Metadata(); md != nil {
			if s := stageText(md); s != "" && s != last {
				step(s)
				last = s
			}
		}
		if op.Done() {
			return f, nil
		}
		if err := d.sleep(ctx, delay); err != nil {
			return nil, err
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// stageText is the stage in progress ("build", "service"), or "".
func stageText(md *functionspb.OperationMetadata) string {
	for _, s := range md.Stages {
		if s.State == functionspb.Stage_IN_PROGRESS {
			t := strings.ToLower(s.Name.String())
			if s.Message != "" {
				t += ": " + s.Message
			}
			return t
		}
	}
	return ""
}

// upload puts the function's zip where Cloud Functions builds from: the
// signed URL GenerateUploadUrl returns, with a plain HTTP PUT (the storage
// client would double the binary for one request). STORAGE_EMULATOR_HOST,
// when set, receives the PUT instead of the URL's host.
func (d *deployer) upload(ctx context.Context, fd providers.FunctionDeployment) (*functionspb.StorageSource, error) {
	zip, err := d.readArtifact(fd)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the package: %w", fd.Name, err)
	}
	res, err := d.fn.GenerateUploadUrl(ctx, &functionspb.GenerateUploadUrlRequest{Parent: d.parent()})
	if err != nil {
		return nil, classify("upload URL for "+fd.Name, err)
	}
	target := res.UploadUrl
	if h := d.c.getenv(envStorage); h != "" {
		if u, err := url.Parse(target); err == nil {
			if !strings.Contains(h, "://") {
				h = "http://" + h
			}
			if eu, err := url.Parse(h); err == nil {
				u.Scheme, u.Host = eu.Scheme, eu.Host
				target = u.String()
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, bytes.NewReader(zip))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/zip")
	resp, err := d.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &providers.Error{Code: providers.Unavailable, Resource: "upload of " + fd.Name, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, classify("upload of "+fd.Name, &httpError{op: "PUT source", status: resp.StatusCode, body: strings.TrimSpace(string(body))})
	}
	return res.StorageSource, nil
}

// DeleteFunction deletes the function (only one of this project) and its
// rules' subscriptions.
func (d *deployer) DeleteFunction(ctx context.Context, name string) error {
	full := d.fullName(name)
	cur, err := d.fn.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: full})
	if err != nil {
		return classify("function "+name, err)
	}
	if owner := cur.GetServiceConfig().GetEnvironmentVariables()[EnvProject]; owner != d.project {
		return collision("function "+full, owner)
	}
	fd, _ := d.toDeployment(cur)
	fd.Rules = nil
	if err := d.convergeRules(ctx, fd, cur, nil); err != nil {
		return err
	}
	op, err := d.fn.DeleteFunction(ctx, &functionspb.DeleteFunctionRequest{Name: full})
	if err != nil {
		return classify("function "+name, err)
	}
	delay := time.Second
	for {
		if err := op.Poll(ctx); err != nil {
			return classify("function "+name, err)
		}
		if op.Done() {
			return d.pruneSecrets(ctx, name, cur, &functionspb.Function{}, func(string) {})
		}
		if err := d.sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// collision is the error for a name held by something this project did
// not deploy.
func collision(resource, owner string) error {
	who := "was not deployed by evcli"
	if owner != "" {
		who = "belongs to evcli project " + owner
	}
	return &providers.Error{Code: providers.Conflict, Resource: resource,
		Err:  fmt.Errorf("the name is taken: it %s", who),
		Hint: "evcli does not take over what it did not create: rename the function in evcli.yaml (or the project), or delete the existing function"}
}

var (
	_ providers.RuleChecker = (*deployer)(nil)
	_ providers.Deployer    = (*deployer)(nil)
	_ providers.NamedReader = (*deployer)(nil)
	_ providers.Namer       = (*deployer)(nil)
)
