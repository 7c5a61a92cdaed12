package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/aws/awstest"
)

// Command tests of deploy, rollback, send and invoke on the aws provider:
// the command logic against an in-test driver (fakeAWS), and end to end
// (TestAWSFake...) with the real AWS driver and SDK against awstest, the
// wire-protocol fake on 127.0.0.1.

const awsProjectYAML = `project: shop
provider: aws
region: eu-west-1
bus: shop-bus
store: {type: dynamodb, table: shop-events}
functions:
  inventory:
    source: functions/inventory
    runtime: nodejs22.x
    handler: index.handler
    memory: 256
    events:
      - pattern: {source: [shop.orders], detail-type: [OrderCreated]}
  payment:
    source: functions/payment
    runtime: python3.13
    handler: app.handler
    events:
      - pattern: {source: [shop.orders], detail-type: [OrderCreated]}
  shipping:
    source: functions/shipping
    runtime: nodejs22.x
    handler: index.handler
    timeout: 10
`

// deployGoldenDir is absolute: some tests chdir.
var deployGoldenDir = func() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "testdata", "deploy")
}()

func deployGolden(t *testing.T, name, got string) {
	t.Helper()
	assertGolden(t, filepath.Join(deployGoldenDir, name+".golden"), got)
}

// visible shows escape sequences in goldens.
func visible(s string) string {
	return strings.NewReplacer("\x1b", `\e`, "\r", `\r`).Replace(s)
}

type awsCmdEnv struct {
	f           *cmdutil.Factory
	out, errOut *syncBuf
	dir         string
	clock       *stepClock
}

// stepClock advances by step on every reading, so elapsed times are
// deterministic when the readings are (one function at a time).
type stepClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func writeAWSProject(t testing.TB, dir, yaml string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "evcli.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"functions/inventory/index.js": "exports.handler = async (e) => ({ok: true, fn: 'inventory'});\n",
		"functions/payment/app.py":     "def handler(event, context):\n    return {'ok': True}\n",
		"functions/shipping/index.js":  "exports.handler = async (e) => ({ok: true, fn: 'shipping'});\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func newAWSCmdEnv(t testing.TB) *awsCmdEnv {
	t.Helper()
	io, _, _, _ := cmdutil.Test()
	out, errOut := &syncBuf{}, &syncBuf{}
	io.Out, io.ErrOut = out, errOut
	dir := t.TempDir()
	writeAWSProject(t, dir, awsProjectYAML)
	clock := &stepClock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), step: 100 * time.Millisecond}
	f := &cmdutil.Factory{
		IO:      io,
		Globals: &cmdutil.Globals{File: filepath.Join(dir, "evcli.yaml"), Output: "text", Color: "auto"},
		Now:     clock.Now,
		Sleep:   func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		Getenv:  func(string) string { return "" },
		Environ: func() []string { return nil },

		OpenProvider: openTestProvider,
	}
	return &awsCmdEnv{f: f, out: out, errOut: errOut, dir: dir, clock: clock}
}

// run runs evcli with args, capturing fresh output.
func (e *awsCmdEnv) run(args ...string) int {
	e.out, e.errOut = &syncBuf{}, &syncBuf{}
	e.f.IO.Out, e.f.IO.ErrOut = e.out, e.errOut
	// The global flags write into Globals: start each run from the defaults.
	*e.f.Globals = cmdutil.Globals{File: e.f.Globals.File, Output: "text", Color: "auto", Profile: e.f.Globals.Profile}
	return Run(context.Background(), e.f, args)
}

// awsDriver is what the AWS driver's deployer offers: the abilities the
// in-test fakeAWS stands in for.
type awsDriver interface {
	providers.Deployer
	providers.SharedDeployer
	providers.Rollbacker
	providers.Invoker
}

// testAWS, when set, is what the aws provider opens as in the tests of this
// package (not parallel): a driver, a bus, and the options each open got.
var testAWS struct {
	driver awsDriver
	bus    providers.EventBus
	opened []providers.OpenOptions
}

// openTestProvider opens the aws provider from testAWS when a test set it,
// otherwise the registry's driver.
func openTestProvider(ctx context.Context, name string, o providers.OpenOptions) (*providers.Provider, error) {
	if name != "aws" || (testAWS.driver == nil && testAWS.bus == nil) {
		return openRegistered(ctx, name, o)
	}
	testAWS.opened = append(testAWS.opened, o)
	p := &providers.Provider{Name: "aws", BusLimits: providers.PutEventsLimits, Missing: map[providers.Ability]string{
		providers.AbilityWait: "EventBridge and Lambda deliver asynchronously; follow the deliveries with evcli tail"}}
	if d := testAWS.driver; d != nil {
		p.Deployer, p.Shared, p.Rollbacker, p.Invoker = d, d, d, d
	}
	if testAWS.bus != nil {
		p.Bus = testAWS.bus
	}
	return p, nil
}

// useAWSDriver makes the aws provider open d (tests using it are not
// parallel) and returns the options it was opened with.
func useAWSDriver(t *testing.T, d awsDriver) *[]providers.OpenOptions {
	t.Helper()
	oldTick := progressTick
	testAWS.driver, testAWS.opened = d, nil
	progressTick = 0
	t.Cleanup(func() { testAWS.driver, testAWS.opened, progressTick = nil, nil, oldTick })
	return &testAWS.opened
}

// useAWSBus makes the aws provider publish through b.
func useAWSBus(t *testing.T, b providers.EventBus) {
	t.Helper()
	testAWS.bus = b
	t.Cleanup(func() { testAWS.bus = nil })
}

// fakeAWS is a stateful in-memory AWS driver.
type fakeAWS struct {
	mu        sync.Mutex
	fns       map[string]providers.FunctionDeployment
	versions  map[string]int
	live      map[string]int
	bus       bool
	table     bool
	mutations []string
	failFn    map[string]error
	failBus   error
	invoke    providers.InvokeResult
	invoked   []string
	onApply   func(name string)
}

func newFakeAWS() *fakeAWS {
	return &fakeAWS{fns: map[string]providers.FunctionDeployment{}, versions: map[string]int{}, live: map[string]int{}, failFn: map[string]error{}}
}

func (a *fakeAWS) mutated() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := slices.Clone(a.mutations)
	sort.Strings(out)
	return out
}

func (a *fakeAWS) Deployed(ctx context.Context) ([]providers.FunctionDeployment, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []providers.FunctionDeployment
	for _, fd := range a.fns {
		out = append(out, fd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (a *fakeAWS) ApplyFunction(ctx context.Context, fd providers.FunctionDeployment, codeChanged bool, step func(string)) error {
	a.mu.Lock()
	err := a.failFn[fd.Name]
	_, exists := a.fns[fd.Name]
	onApply := a.onApply
	a.mu.Unlock()
	if onApply != nil {
		onApply(fd.Name)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if !exists {
		step("create role")
	}
	if codeChanged {
		step("upload code")
	}
	if err != nil {
		return err
	}
	step("update configuration")
	step("publish version")
	step("move alias live")
	if len(fd.Rules) > 0 {
		step("put rules")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fd.ArtifactPath = ""
	a.fns[fd.Name] = fd
	a.versions[fd.Name]++
	a.live[fd.Name] = a.versions[fd.Name]
	a.mutations = append(a.mutations, "apply "+fd.Name)
	return nil
}

func (a *fakeAWS) DeleteFunction(ctx context.Context, name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.fns, name)
	a.mutations = append(a.mutations, "delete "+name)
	return nil
}

func (a *fakeAWS) PlanShared(ctx context.Context, prune bool) ([]providers.ResourceChange, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	action := func(ok bool) string {
		if ok {
			return "unchanged"
		}
		return "create"
	}
	return []providers.ResourceChange{
		{Kind: "bus", Name: "shop-bus", Action: action(a.bus)},
		{Kind: "table", Name: "shop-events", Action: action(a.table)},
	}, nil
}

func (a *fakeAWS) ApplyShared(ctx context.Context, changes []providers.ResourceChange, step func(resource, step string)) error {
	for _, c := range changes {
		step(c.Kind+" "+c.Name, "create "+c.Kind)
		a.mu.Lock()
		if c.Kind == "bus" && a.failBus != nil {
			a.mu.Unlock()
			return &providers.Error{Code: providers.PermissionDenied, Resource: "bus shop-bus", Err: a.failBus}
		}
		switch c.Kind {
		case "bus":
			a.bus = true
		case "table":
			step(c.Kind+" "+c.Name, "enable TTL")
			a.table = true
		}
		a.mutations = append(a.mutations, "shared "+c.Kind)
		a.mu.Unlock()
	}
	return nil
}

func (a *fakeAWS) Rollback(ctx context.Context, function, to string) (string, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, ok := a.live[function]
	if !ok {
		return "", "", &providers.Error{Code: providers.NotFound, Resource: "function " + function, Err: errors.New("no alias live"), Hint: "deploy it first: evcli deploy"}
	}
	want := cur - 1
	if to != "" {
		fmt.Sscan(to, &want)
	}
	if want < 1 || want > a.versions[function] {
		return "", "", &providers.Error{Code: providers.NotFound, Resource: "function " + function, Err: fmt.Errorf("no version %d", want)}
	}
	a.live[function] = want
	a.mutations = append(a.mutations, "rollback "+function)
	return fmt.Sprint(cur), fmt.Sprint(want), nil
}

func (a *fakeAWS) Invoke(ctx context.Context, function string, payload []byte) (providers.InvokeResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.invoked = append(a.invoked, function+" "+string(payload))
	if _, ok := a.fns[function]; !ok {
		return providers.InvokeResult{}, &providers.Error{Code: providers.NotFound, Resource: "function " + function, Err: errors.New("Function not found")}
	}
	return a.invoke, nil
}

var _ awsDriver = (*fakeAWS)(nil)

func TestDeployAWSFirstThenNothingToDo(t *testing.T) {
	e := newAWSCmdEnv(t)
	a := newFakeAWS()
	opened := useAWSDriver(t, a)
	if code := e.run("deploy", "--concurrency", "1", "--artifact-bucket", "art", "--log-retention", "30"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	deployGolden(t, "first-plan", e.out.String())
	for _, want := range []string{"bus shop-bus: create bus\n", "ok table shop-events (", "inventory: upload code\n", "ok payment (",
		"Deployed 5 change(s), 0 failed, 0 unchanged in "} {
		if !strings.Contains(e.errOut.String(), want) {
			t.Fatalf("stderr lacks %q:\n%s", want, e.errOut)
		}
	}
	if got := a.mutated(); !slices.Equal(got, []string{"apply inventory", "apply payment", "apply shipping", "shared bus", "shared table"}) {
		t.Fatalf("mutations %v", got)
	}
	if o := (*opened)[0]; o.ArtifactBucket != "art" || o.LogRetentionDays != 30 || o.Project != "shop" || o.Region != "eu-west-1" || o.Bus != "shop-bus" {
		t.Fatalf("driver opened with %+v", (*opened)[0])
	}
	fd := a.fns["inventory"]
	if fd.MemoryMB != 256 || fd.Runtime != "nodejs22.x" || len(fd.Rules) != 1 || fd.Rules[0].Bus != "shop-bus" || fd.Env["EVENT_BUS_NAME"] != "shop-bus" || fd.CodeSha256 == "" {
		t.Fatalf("inventory deployed as %+v", fd)
	}

	a.mutations = nil
	if code := e.run("deploy"); code != 0 {
		t.Fatalf("second deploy: exit %d\n%s", code, e.errOut)
	}
	if len(a.mutated()) != 0 {
		t.Fatalf("second deploy changed %v", a.mutated())
	}
	if !strings.Contains(e.errOut.String(), "Nothing to do: every function and resource is up to date.") ||
		!strings.HasPrefix(e.out.String(), "Plan: 0 to create, 0 to update, 5 unchanged\n") {
		t.Fatalf("second deploy said\n%s%s", e.out, e.errOut)
	}
}

func TestDeployAWSDryRunDetailedExitCode(t *testing.T) {
	e := newAWSCmdEnv(t)
	a := newFakeAWS()
	useAWSDriver(t, a)
	if code := e.run("deploy", "--dry-run", "--detailed-exitcode"); code != 2 {
		t.Fatalf("dry run with changes: exit %d, want 2\n%s", code, e.errOut)
	}
	if len(a.mutated()) != 0 {
		t.Fatalf("dry run changed %v", a.mutated())
	}
	if code := e.run("deploy", "--dry-run"); code != 0 {
		t.Fatalf("dry run without --detailed-exitcode: exit %d", code)
	}
	if code := e.run("deploy"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, e.errOut)
	}
	if code := e.run("deploy", "--dry-run", "--detailed-exitcode"); code != 0 {
		t.Fatalf("dry run without changes: exit %d, want 0\n%s", code, e.errOut)
	}
	// Only the bus missing is a change too.
	a.bus = false
	if code := e.run("deploy", "--dry-run", "--detailed-exitcode"); code != 2 {
		t.Fatalf("dry run with a missing bus: exit %d, want 2", code)
	}
	if !strings.Contains(e.out.String(), "  + bus shop-bus       create\n") {
		t.Fatalf("plan:\n%s", e.out)
	}
}

func TestDeployAWSOneFunctionFails(t *testing.T) {
	e := newAWSCmdEnv(t)
	a := newFakeAWS()
	a.failFn["payment"] = &providers.Error{Code: providers.PermissionDenied, Resource: "function payment",
		Err: errors.New("AccessDeniedException: not authorized to perform lambda:CreateFunction")}
	useAWSDriver(t, a)
	if code := e.run("deploy"); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, e.errOut)
	}
	stderr := e.errOut.String()
	if !strings.Contains(stderr, "Deployed 4 change(s), 1 failed (payment), 0 unchanged in ") ||
		!strings.Contains(stderr, "FAILED payment: function payment: AccessDeniedException") ||
		!strings.Contains(stderr, "Run evcli deploy again to retry") {
		t.Fatalf("stderr:\n%s", stderr)
	}
	if got := a.mutated(); !slices.Equal(got, []string{"apply inventory", "apply shipping", "shared bus", "shared table"}) {
		t.Fatalf("mutations %v", got)
	}

	// -o json names the failure in the summary.
	if code := e.run("deploy", "-o", "json"); code != 1 {
		t.Fatalf("exit %d", code)
	}
	last := lastLine(e.out.String())
	if !strings.Contains(last, `"failed":1`) || !strings.Contains(last, `"failures":[{"error":"function payment: AccessDeniedException`) {
		t.Fatalf("summary %s", last)
	}

	// Fixed: the next deploy converges, touching only payment.
	delete(a.failFn, "payment")
	a.mutations = nil
	if code := e.run("deploy"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	if got := a.mutated(); !slices.Equal(got, []string{"apply payment"}) {
		t.Fatalf("mutations %v", got)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestDeployAWSSharedFailureStopsBeforeFunctions(t *testing.T) {
	e := newAWSCmdEnv(t)
	a := newFakeAWS()
	a.failBus = errors.New("AccessDeniedException: not authorized to perform events:CreateEventBus")
	useAWSDriver(t, a)
	if code := e.run("deploy"); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, e.errOut)
	}
	if len(a.mutated()) != 0 {
		t.Fatalf("applied %v after the bus failed", a.mutated())
	}
	stderr := e.errOut.String()
	for _, want := range []string{
		"FAILED bus shop-bus: bus shop-bus: AccessDeniedException",
		"Deploy stopped: the project's shared resources could not be applied, so no function was changed.",
		"evcli: bus shop-bus: AccessDeniedException",
	} {
		if !strings.Contains(stderr, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// Packaging comes before the shared resources (and may print
	// "packaging inventory: zipping 1s" when the clock says so); no apply
	// step of a function may follow.
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "inventory:") && !strings.HasPrefix(strings.TrimSpace(l), "packaging ") {
			t.Fatalf("a function was started: %q\n%s", l, stderr)
		}
	}
}

func TestDeployAWSPlanAndProgressGoldens(t *testing.T) {
	// inventory changes memory and code, payment is gone, the table too.
	prepare := func(t *testing.T) *awsCmdEnv {
		e := newAWSCmdEnv(t)
		a := newFakeAWS()
		useAWSDriver(t, a)
		if code := e.run("deploy"); code != 0 {
			t.Fatalf("exit %d\n%s", code, e.errOut)
		}
		delete(a.fns, "payment")
		a.table = false
		proj := strings.Replace(awsProjectYAML, "memory: 256", "memory: 512", 1)
		writeAWSProject(t, e.dir, proj)
		os.WriteFile(filepath.Join(e.dir, "functions/inventory/index.js"), []byte("exports.handler = async () => 2;\n"), 0o644)
		return e
	}
	t.Run("plan", func(t *testing.T) {
		e := prepare(t)
		if code := e.run("deploy", "--dry-run"); code != 0 {
			t.Fatalf("exit %d\n%s", code, e.errOut)
		}
		deployGolden(t, "plan-text", e.out.String())
		if strings.Contains(e.out.String(), "\x1b") {
			t.Fatal("colour without a terminal")
		}
		e.f.IO.SetStdoutTTY(true)
		if code := e.run("deploy", "--dry-run"); code != 0 {
			t.Fatalf("exit %d\n%s", code, e.errOut)
		}
		deployGolden(t, "plan-tty", visible(e.out.String()))
		e.f.IO.SetNoColorEnv(true)
		if code := e.run("deploy", "--dry-run"); code != 0 {
			t.Fatalf("exit %d\n%s", code, e.errOut)
		}
		if strings.Contains(e.out.String(), "\x1b") {
			t.Fatalf("colour with NO_COLOR:\n%q", e.out)
		}
	})
	// Progress: one function at a time keeps the order of the steps fixed.
	t.Run("steps", func(t *testing.T) {
		e := prepare(t)
		if code := e.run("deploy", "--function", "inventory"); code != 0 {
			t.Fatalf("exit %d\n%s", code, e.errOut)
		}
		deployGolden(t, "steps-text", e.errOut.String())
		if strings.Contains(e.errOut.String(), "\x1b") {
			t.Fatal("escape sequences without a terminal")
		}
	})
	t.Run("tty", func(t *testing.T) {
		e := prepare(t)
		e.f.IO.SetStdoutTTY(true)
		e.f.IO.SetStderrTTY(true)
		if code := e.run("deploy", "--function", "inventory"); code != 0 {
			t.Fatalf("exit %d\n%s", code, e.errOut)
		}
		deployGolden(t, "progress-tty", visible(e.errOut.String()))
	})
	t.Run("json", func(t *testing.T) {
		e := prepare(t)
		if code := e.run("deploy", "--function", "inventory", "-o", "json"); code != 0 {
			t.Fatalf("exit %d\n%s", code, e.errOut)
		}
		deployGolden(t, "json", e.out.String())
		if e.errOut.String() != "" {
			t.Fatalf("stderr with -o json:\n%s", e.errOut)
		}
	})
}

func TestDeployProviderChecks(t *testing.T) {
	t.Run("aws-only flag on local", func(t *testing.T) {
		e := newAWSCmdEnv(t)
		if code := e.run("deploy", "--provider", "local", "--artifact-bucket", "b"); code != 2 {
			t.Fatalf("exit %d", code)
		}
		if got := e.errOut.String(); !strings.Contains(got, "--artifact-bucket: not for the local provider (an artifact bucket is for clouds that upload code") {
			t.Fatalf("stderr %q", got)
		}
	})
	t.Run("log retention", func(t *testing.T) {
		e := newAWSCmdEnv(t)
		if code := e.run("deploy", "--log-retention", "15"); code != 2 {
			t.Fatalf("exit %d", code)
		}
		if got := e.errOut.String(); !strings.Contains(got, "--log-retention 15: CloudWatch Logs keeps logs for one of 1, 3, 5, 7, 14,") {
			t.Fatalf("stderr %q", got)
		}
	})
}

// awsNoCredentials points the SDK at nothing: no profile files, no
// environment credentials, no instance metadata.
func awsNoCredentials(t *testing.T) {
	t.Helper()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

func TestAWSCommandsWithoutCredentialsExit4(t *testing.T) {
	awsNoCredentials(t)
	for _, args := range [][]string{
		{"deploy"},
		{"rollback", "inventory"},
		{"invoke", "inventory"},
		{"send", "EVENT"},
		{"tail"},
		{"tail", "--follow"},
		{"tune", "memory"},
		{"tune", "memory", "--probe", "--payload", "{}"},
		{"replay", "--dry-run", "--since", "1h"},
		{"filter", "test", "--since", "1h", "--pattern", `{"source":["shop"]}`},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			e := newAWSCmdEnv(t)
			if args[0] == "send" {
				args[1] = filepath.Join(e.dir, "ev.json")
				os.WriteFile(args[1], []byte(`{"source":"shop.orders","detail-type":"OrderCreated","detail":{}}`), 0o644)
			}
			if code := e.run(args...); code != cmdutil.ExitCredentials {
				t.Fatalf("exit %d, want 4\n%s", code, e.errOut)
			}
			want := "evcli: aws: no credentials found\n  set AWS_PROFILE (or --profile) to a configured profile, run \"aws configure\", or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n"
			if got := e.errOut.String(); got != want {
				t.Fatalf("stderr\n%s\nwant\n%s", got, want)
			}
			if _, err := os.Stat(filepath.Join(e.dir, ".evcli", "build")); err == nil && args[0] == "deploy" {
				t.Fatal("packaged before checking credentials")
			}
		})
	}
	t.Run("profile", func(t *testing.T) {
		e := newAWSCmdEnv(t)
		e.f.Globals.Profile = "prod"
		code := e.run("deploy", "--profile", "prod")
		if code != cmdutil.ExitCredentials {
			t.Fatalf("exit %d, want 4\n%s", code, e.errOut)
		}
		if got := e.errOut.String(); !strings.Contains(got, "prod") {
			t.Fatalf("stderr %q", got)
		}
	})
	t.Run("region", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSECRETVALUE")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
		e := newAWSCmdEnv(t)
		writeAWSProject(t, e.dir, strings.Replace(awsProjectYAML, "region: eu-west-1\n", "", 1))
		if code := e.run("deploy", "--debug"); code != cmdutil.ExitCredentials {
			t.Fatalf("exit %d, want 4\n%s", code, e.errOut)
		}
		got := e.errOut.String()
		if !strings.Contains(got, "no region") || strings.Contains(got, "AKIDSECRETVALUE") || strings.Contains(got, "very-secret-value") {
			t.Fatalf("stderr %q", got)
		}
	})
}

func TestSendAWSRetriesAndReportsEntries(t *testing.T) {
	e := newAWSCmdEnv(t)
	var lines []string
	for i := range 12 {
		lines = append(lines, fmt.Sprintf(`{"source":"shop.orders","detail-type":"OrderCreated","detail":{"n":%d}}`, i))
	}
	file := filepath.Join(e.dir, "events.ndjson")
	os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	bus := &flakyBus{
		transient: map[int]int{3: 2, 10: 1}, // entry -> failures before it goes through
		permanent: map[int]string{7: "InvalidArgument"},
		never:     map[int]bool{11: true},
	}
	useAWSBus(t, bus)
	var slept []time.Duration
	e.f.Sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	if code := e.run("send", file); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, e.errOut)
	}
	for _, n := range bus.sizes {
		if n > 10 {
			t.Fatalf("a PutEvents call of %d entries", n)
		}
	}
	if !slices.Equal(slept, []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}) {
		t.Fatalf("backoff %v", slept)
	}
	// Each event got through once; 3 and 10 after retries.
	if bus.accepted[3] != 1 || bus.accepted[10] != 1 || bus.accepted[0] != 1 || bus.accepted[7] != 0 || bus.accepted[11] != 0 {
		t.Fatalf("accepted %v", bus.accepted)
	}
	if bus.tries[7] != 1 {
		t.Fatalf("a permanent failure was retried %d times", bus.tries[7]-1)
	}
	stderr := e.errOut.String()
	for _, want := range []string{
		"event 7 (shop.orders OrderCreated) not sent: InvalidArgument: entry 7 rejected\n",
		"event 11 (shop.orders OrderCreated) not sent: ThrottlingException: entry 11 throttled (after 4 attempts)\n",
		"2 of 12 events not sent\n",
	} {
		if !strings.Contains(stderr, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Count(stderr, "\nsent ")+strings.Count(stderr[:5], "sent ") != 10 {
		t.Fatalf("want 10 sent lines:\n%s", stderr)
	}

	// -o json: one record per event, failures with their index.
	bus.reset()
	if code := e.run("send", file, "-o", "json"); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(e.out.String(), `{"attempts":1,"bus":"shop-bus","detailType":"OrderCreated","errorCode":"InvalidArgument","errorMessage":"entry 7 rejected","id":"","index":7,"source":"shop.orders","type":"event"}`) {
		t.Fatalf("json:\n%s", e.out)
	}
}

func TestSendAWSWaitIsUsageError(t *testing.T) {
	e := newAWSCmdEnv(t)
	file := filepath.Join(e.dir, "ev.json")
	os.WriteFile(file, []byte(`{"source":"a","detail-type":"b","detail":{}}`), 0o644)
	useAWSBus(t, failBus{t})
	if code := e.run("send", file, "--wait"); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(e.errOut.String(), "--wait is not available on aws: EventBridge and Lambda deliver asynchronously") {
		t.Fatalf("stderr %q", e.errOut)
	}
}

func TestSendAWSTooLargeSendsNothing(t *testing.T) {
	e := newAWSCmdEnv(t)
	file := filepath.Join(e.dir, "ev.json")
	os.WriteFile(file, []byte(`[{"source":"a","detail-type":"b","detail":{}},{"source":"a","detail-type":"b","detail":{"x":"`+strings.Repeat("y", 300_000)+`"}}]`), 0o644)
	useAWSBus(t, failBus{t})
	if code := e.run("send", file); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(e.errOut.String(), "event 1 (a b) is 300010 bytes: an entry carries at most 262144 bytes (256 KB); nothing was sent") {
		t.Fatalf("stderr %q", e.errOut)
	}
}

// flakyBus fails entries (by their detail's n) as configured.
type flakyBus struct {
	mu        sync.Mutex
	transient map[int]int
	permanent map[int]string
	never     map[int]bool
	sizes     []int
	tries     map[int]int
	accepted  map[int]int
}

func (b *flakyBus) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sizes, b.tries, b.accepted = nil, nil, nil
	b.transient = map[int]int{3: 2, 10: 1}
}

func (b *flakyBus) Publish(ctx context.Context, bus string, evs []providers.Event) ([]providers.PublishResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tries == nil {
		b.tries, b.accepted = map[int]int{}, map[int]int{}
	}
	b.sizes = append(b.sizes, len(evs))
	out := make([]providers.PublishResult, len(evs))
	for i, ev := range evs {
		var n int
		fmt.Sscanf(string(ev.Detail), `{"n":%d}`, &n)
		b.tries[n]++
		switch {
		case ev.EventBusName != "shop-bus":
			out[i] = providers.PublishResult{ErrorCode: "InvalidArgument", ErrorMsg: "wrong bus " + ev.EventBusName}
		case b.permanent[n] != "":
			out[i] = providers.PublishResult{ErrorCode: b.permanent[n], ErrorMsg: fmt.Sprintf("entry %d rejected", n)}
		case b.never[n] || b.transient[n] > 0:
			b.transient[n]--
			code := "ThrottlingException"
			if n == 10 {
				code = "InternalFailure"
			}
			out[i] = providers.PublishResult{ErrorCode: code, ErrorMsg: fmt.Sprintf("entry %d throttled", n), Code: providers.Throttled}
		default:
			b.accepted[n]++
			out[i] = providers.PublishResult{EventID: fmt.Sprintf("id-%d", n)}
		}
	}
	return out, nil
}

func TestInvokeAWS(t *testing.T) {
	e := newAWSCmdEnv(t)
	a := newFakeAWS()
	a.fns["inventory"] = providers.FunctionDeployment{Name: "inventory"}
	a.invoke = providers.InvokeResult{RequestID: "r-1", Payload: []byte(`{"ok":true}`), DurationMs: 12.5,
		LogTail: []string{"START RequestId: r-1 Version: 3", "INFO reserved 2 items", "END RequestId: r-1", "REPORT RequestId: r-1\tDuration: 12.50 ms"}}
	useAWSDriver(t, a)
	if code := e.run("invoke", "inventory", "--payload", `{"orderId":"o-1"}`, "--logs"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	if e.out.String() != "{\"ok\":true}\n" || !strings.Contains(e.errOut.String(), "START RequestId: r-1 Version: 3\nINFO reserved 2 items\n") {
		t.Fatalf("stdout %q stderr %q", e.out, e.errOut)
	}
	if !slices.Equal(a.invoked, []string{`inventory {"orderId":"o-1"}`}) {
		t.Fatalf("invoked %v", a.invoked)
	}
	// A function error exits 1 with Lambda's error document on stdout.
	a.invoke = providers.InvokeResult{Payload: []byte(`{"errorMessage":"boom","errorType":"Error"}`), FunctionError: "Unhandled"}
	if code := e.run("invoke", "inventory"); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(e.out.String(), `"errorMessage":"boom"`) || !strings.Contains(e.errOut.String(), "function inventory failed (Unhandled)") {
		t.Fatalf("stdout %q stderr %q", e.out, e.errOut)
	}
	// Not deployed: say what to do.
	if code := e.run("invoke", "shipping"); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(e.errOut.String(), `function "shipping" is not deployed: run evcli deploy`) {
		t.Fatalf("stderr %q", e.errOut)
	}
}

// awsFakeEnv starts awstest and points the SDK's environment at it (the
// tests using it are not parallel). The project's store is local: awstest
// has no DynamoDB (the table is tested against dynalite in providers/aws).
func awsFakeEnv(t testing.TB, opts ...awstest.Option) (*awstest.Server, string) {
	srv := awstest.New(opts...)
	t.Cleanup(srv.Close)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if tt, ok := t.(*testing.T); ok {
			tt.Setenv(k, v)
		} else {
			old, had := os.LookupEnv(k)
			os.Setenv(k, v)
			t.Cleanup(func() {
				if had {
					os.Setenv(k, old)
				} else {
					os.Unsetenv(k)
				}
			})
		}
	}
	yaml := strings.Replace(awsProjectYAML, "region: eu-west-1", "region: "+srv.Region(), 1)
	yaml = strings.Replace(yaml, "store: {type: dynamodb, table: shop-events}", "store: {type: local}", 1)
	return srv, yaml
}

func newAWSFakeCmdEnv(t *testing.T, opts ...awstest.Option) (*awsCmdEnv, *awstest.Server) {
	srv, yaml := awsFakeEnv(t, opts...)
	e := newAWSCmdEnv(t)
	writeAWSProject(t, e.dir, yaml)
	return e, srv
}

func mutatingResources(srv *awstest.Server) []string {
	var out []string
	for _, c := range srv.MutatingCalls() {
		out = append(out, c.Service+":"+c.Action+" "+c.Resource)
	}
	return out
}

func TestAWSFakeDeployConvergesAndSecondRunOnlyReads(t *testing.T) {
	e, srv := newAWSFakeCmdEnv(t)
	if code := e.run("deploy", "--dry-run", "--detailed-exitcode"); code != 2 {
		t.Fatalf("dry run before the first deploy: exit %d, want 2\n%s", code, e.errOut)
	}
	if m := srv.MutatingCalls(); len(m) != 0 {
		t.Fatalf("dry run changed %v", m)
	}
	if code := e.run("deploy", "--log-retention", "30"); code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, e.errOut)
	}
	if !strings.HasPrefix(e.out.String(), "Plan: 4 to create, 0 to update, 0 unchanged\n  + bus shop-bus") {
		t.Fatalf("plan:\n%s", e.out)
	}
	if got := srv.FunctionNames(); !slices.Equal(got, []string{"shop-inventory", "shop-payment", "shop-shipping"}) {
		t.Fatalf("functions %v", got)
	}
	inv, _ := srv.Function("shop-inventory")
	if inv.MemorySize != 256 || inv.Runtime != "nodejs22.x" || inv.Aliases["live"].Version != "1" || inv.Environment["EVENT_BUS_NAME"] != "shop-bus" {
		t.Fatalf("inventory: memory %d runtime %s aliases %v env %v", inv.MemorySize, inv.Runtime, inv.Aliases, inv.Environment)
	}
	bus, ok := srv.Bus("shop-bus")
	if !ok || len(bus.Rules) != 2 {
		t.Fatalf("bus %+v", bus)
	}
	if g, _ := srv.LogGroup("/aws/lambda/shop-inventory"); g.RetentionDays != 30 {
		t.Fatalf("log group %+v", g)
	}

	// Nothing changed: reads only.
	srv.ResetCalls()
	if code := e.run("deploy"); code != 0 {
		t.Fatalf("second deploy: exit %d\n%s", code, e.errOut)
	}
	if m := srv.MutatingCalls(); len(m) != 0 {
		t.Fatalf("second deploy made mutating calls: %v", m)
	}
	if !strings.Contains(e.errOut.String(), "Nothing to do: every function and resource is up to date.") {
		t.Fatalf("stderr:\n%s", e.errOut)
	}
	if code := e.run("deploy", "--dry-run", "--detailed-exitcode"); code != 0 {
		t.Fatalf("dry run after deploy: exit %d\n%s", code, e.errOut)
	}

	// One handler changed: only that function's calls mutate.
	os.WriteFile(filepath.Join(e.dir, "functions/shipping/index.js"), []byte("exports.handler = async () => 'v2';\n"), 0o644)
	srv.ResetCalls()
	if code := e.run("deploy", "-o", "json"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	for _, m := range mutatingResources(srv) {
		if !strings.Contains(m, "shipping") {
			t.Fatalf("changing shipping made %v", mutatingResources(srv))
		}
	}
	if !strings.Contains(e.out.String(), `{"action":"update","codeChanged":true,"fields":["code changed"],"function":"shipping","type":"plan"}`) {
		t.Fatalf("json:\n%s", e.out)
	}
	if sh, _ := srv.Function("shop-shipping"); sh.Aliases["live"].Version != "2" {
		t.Fatalf("shipping live = %v", sh.Aliases)
	}

	// --function reads only that function: no listing of the account's
	// functions, no read of the others.
	os.WriteFile(filepath.Join(e.dir, "functions/shipping/index.js"), []byte("exports.handler = async () => 'v3';\n"), 0o644)
	srv.ResetCalls()
	if code := e.run("deploy", "--function", "shipping"); code != 0 {
		t.Fatalf("deploy --function: exit %d\n%s", code, e.errOut)
	}
	for _, c := range srv.Calls() {
		if c.Action == "ListFunctions" || (c.Service == "lambda" && c.Resource != "" && !strings.Contains(c.Resource, "shipping")) {
			t.Errorf("deploy --function shipping made %s", c)
		}
	}
	if sh, _ := srv.Function("shop-shipping"); sh.Aliases["live"].Version != "3" {
		t.Fatalf("shipping live = %v", sh.Aliases)
	}
}

func TestAWSFakeInjectedFailureLeavesOthersDeployed(t *testing.T) {
	e, srv := newAWSFakeCmdEnv(t)
	srv.Inject(awstest.Fault{Service: "lambda", Match: "payment", Code: "ServiceException", Times: -1})
	if code := e.run("deploy"); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, e.errOut)
	}
	stderr := e.errOut.String()
	if !strings.Contains(stderr, "Deployed 3 change(s), 1 failed (payment), 0 unchanged in ") || !strings.Contains(stderr, "FAILED payment: ") {
		t.Fatalf("stderr:\n%s", stderr)
	}
	for _, fn := range []string{"inventory", "shipping"} {
		if st, ok := srv.Function("shop-" + fn); !ok || st.Aliases["live"].Version != "1" {
			t.Fatalf("%s not deployed: %+v", fn, st)
		}
	}
	// The fault gone, deploy converges on payment alone.
	srv.ClearFaults()
	srv.ResetCalls()
	if code := e.run("deploy"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	if !strings.Contains(e.out.String(), "  + payment ") {
		t.Fatalf("plan:\n%s", e.out)
	}
	for _, m := range mutatingResources(srv) {
		if strings.Contains(m, "inventory") || strings.Contains(m, "shipping") {
			t.Fatalf("converging touched %s", m)
		}
	}
}

func TestAWSFakeRollbackAndInvoke(t *testing.T) {
	e, srv := newAWSFakeCmdEnv(t, awstest.WithInvoke(func(fn string, payload []byte) ([]byte, error) {
		return []byte(`{"function":"` + fn + `","got":` + string(payload) + `}`), nil
	}))
	if code := e.run("deploy", "--function", "inventory"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	os.WriteFile(filepath.Join(e.dir, "functions/inventory/index.js"), []byte("exports.handler = async () => 'v2';\n"), 0o644)
	if code := e.run("deploy", "--function", "inventory"); code != 0 {
		t.Fatalf("exit %d\n%s", code, e.errOut)
	}
	if code := e.run("rollback", "inventory"); code != 0 {
		t.Fatalf("rollback: exit %d\n%s", code, e.errOut)
	}
	if e.out.String() != "inventory: live 2 -> 1\n" {
		t.Fatalf("stdout %q", e.out)
	}
	if st, _ := srv.Function("shop-inventory"); st.Aliases["live"].Version != "1" {
		t.Fatalf("live = %v", st.Aliases)
	}
	if code := e.run("rollback", "inventory", "--to", "2", "-o", "json"); code != 0 {
		t.Fatalf("rollback --to: exit %d\n%s", code, e.errOut)
	}
	if !strings.Contains(e.out.String(), `{"alias":"live","from":"1","function":"inventory","to":"2","type":"rollback"}`) {
		t.Fatalf("stdout %q", e.out)
	}

	if code := e.run("invoke", "inventory", "--payload", `{"orderId":"o-1"}`, "--logs"); code != 0 {
		t.Fatalf("invoke: exit %d\n%s", code, e.errOut)
	}
	if e.out.String() != `{"function":"shop-inventory","got":{"orderId":"o-1"}}`+"\n" {
		t.Fatalf("stdout %q", e.out)
	}
	if !strings.Contains(e.errOut.String(), "START RequestId: ") || !strings.Contains(e.errOut.String(), "REPORT RequestId: ") {
		t.Fatalf("log tail on stderr:\n%s", e.errOut)
	}
	st, _ := srv.Function("shop-inventory")
	if n := len(st.Invocations); n != 1 || st.Invocations[0].Qualifier != "live" {
		t.Fatalf("invocations %+v", st.Invocations)
	}
}

func TestAWSFakeSendRetriesFailedEntries(t *testing.T) {
	e, srv := newAWSFakeCmdEnv(t)
	srv.SeedBus("shop-bus", nil)
	var mu sync.Mutex
	seen := map[string]int{}
	srv.SetPutEventsFailure(func(ev awstest.Event) (string, string) {
		mu.Lock()
		defer mu.Unlock()
		seen[ev.Detail]++
		switch {
		case ev.Detail == `{"n":3}` && seen[ev.Detail] <= 2:
			return "ThrottlingException", "Rate exceeded"
		case ev.Detail == `{"n":12}` && seen[ev.Detail] == 1:
			return "InternalFailure", "try again"
		case ev.Detail == `{"n":5}`:
			return "AccessDeniedException", "not authorized for source shop.orders"
		}
		return "", ""
	})
	var lines []string
	for i := range 15 {
		lines = append(lines, fmt.Sprintf(`{"source":"shop.orders","detail-type":"OrderCreated","detail":{"n":%d}}`, i))
	}
	file := filepath.Join(e.dir, "events.ndjson")
	os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	var slept []time.Duration
	e.f.Sleep = func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	if code := e.run("send", file); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, e.errOut)
	}
	got := map[string]int{}
	for _, ev := range srv.Events("shop-bus") {
		got[ev.Detail]++
	}
	for i := range 15 {
		want := 1
		if i == 5 {
			want = 0
		}
		if d := fmt.Sprintf(`{"n":%d}`, i); got[d] != want {
			t.Fatalf("event %d stored %d times, want %d (%v)", i, got[d], want, got)
		}
	}
	if !strings.Contains(e.errOut.String(), "event 5 (shop.orders OrderCreated) not sent: AccessDeniedException: not authorized for source shop.orders\n") ||
		!strings.Contains(e.errOut.String(), "1 of 15 events not sent\n") || len(slept) != 2 {
		t.Fatalf("slept %v, stderr:\n%s", slept, e.errOut)
	}
	puts := 0
	for _, c := range srv.Calls() {
		if c.Action == "PutEvents" {
			puts++
		}
	}
	if puts != 4 { // 10 + 5 entries, then {3, 12}, then {3}
		t.Fatalf("%d PutEvents calls, want 4", puts)
	}
}

// BenchmarkDeployNoChange50 runs `evcli deploy` for a project whose 50
// Node.js functions (one rule each) are all deployed already, against
// awstest: load the project, package, read what is deployed, plan, "nothing
// to do". in-process runs the command in this process; binary runs the
// built evcli as a user would (process start included).
//
//	go test ./cmd -run '^$' -bench DeployNoChange50 -benchtime 10x -count 5
func BenchmarkDeployNoChange50(b *testing.B) {
	srv, _ := awsFakeEnv(b, awstest.WithSettleReads(0))
	e := newAWSCmdEnv(b)
	e.f.Now = time.Now
	var y strings.Builder
	fmt.Fprintf(&y, "project: shop\nprovider: aws\nregion: %s\nbus: shop-bus\nstore: {type: local}\nfunctions:\n", srv.Region())
	for i := range 50 {
		name := fmt.Sprintf("fn%02d", i)
		fmt.Fprintf(&y, "  %s:\n    source: functions/%s\n    runtime: nodejs22.x\n    handler: index.handler\n    events:\n      - pattern: {source: [shop.orders], detail-type: [T%02d]}\n", name, name, i)
		dir := filepath.Join(e.dir, "functions", name)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "index.js"), []byte("exports.handler = async (e) => ({fn: '"+name+"'});\n"), 0o644)
	}
	os.WriteFile(filepath.Join(e.dir, "evcli.yaml"), []byte(y.String()), 0o644)
	if code := e.run("deploy", "--concurrency", "8"); code != 0 {
		b.Fatalf("first deploy: exit %d\n%s", code, e.errOut)
	}
	report := func(b *testing.B) {
		if m := srv.MutatingCalls(); len(m) > 0 {
			b.Fatalf("mutating calls: %v", m)
		}
		b.ReportMetric(float64(len(srv.Calls()))/float64(b.N), "calls/op")
		b.ReportMetric(0, "mutating/op")
	}
	b.Run("in-process", func(b *testing.B) {
		srv.ResetCalls()
		for b.Loop() {
			if code := e.run("deploy"); code != 0 {
				b.Fatalf("exit %d\n%s", code, e.errOut)
			}
		}
		b.StopTimer()
		if !strings.Contains(e.errOut.String(), "Nothing to do") {
			b.Fatalf("not a no-change deploy:\n%s", e.errOut)
		}
		report(b)
	})
	b.Run("binary", func(b *testing.B) {
		bin := filepath.Join(b.TempDir(), "evcli")
		build := exec.Command("go", "build", "-o", bin, "..")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("go build: %v\n%s", err, out)
		}
		srv.ResetCalls()
		b.ResetTimer()
		for b.Loop() {
			c := exec.Command(bin, "deploy")
			c.Dir = e.dir
			c.Env = append(os.Environ(), "NO_COLOR=1")
			if out, err := c.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("Nothing to do")) {
				b.Fatalf("%v\n%s", err, out)
			}
		}
		b.StopTimer()
		report(b)
	})
}

func TestDeployAWSInterruptedExits130(t *testing.T) {
	e := newAWSCmdEnv(t)
	a := newFakeAWS()
	useAWSDriver(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.onApply = func(string) { cancel() }
	e.out, e.errOut = &syncBuf{}, &syncBuf{}
	e.f.IO.Out, e.f.IO.ErrOut = e.out, e.errOut
	if code := Run(ctx, e.f, []string{"deploy", "--concurrency", "1"}); code != cmdutil.ExitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", code, e.errOut)
	}
	if !strings.HasSuffix(e.errOut.String(), "interrupted\n") || !strings.Contains(e.errOut.String(), "Deploy interrupted after ") ||
		!strings.Contains(e.errOut.String(), "2 change(s) applied, 3 not finished (inventory, payment, shipping). Run evcli deploy again to converge.") {
		t.Fatalf("stderr:\n%s", e.errOut)
	}
}

func TestAWSFakeDeployNeverPrintsSecrets(t *testing.T) {
	e, srv := newAWSFakeCmdEnv(t)
	proj, _ := os.ReadFile(filepath.Join(e.dir, "evcli.yaml"))
	writeAWSProject(t, e.dir, strings.Replace(string(proj), "    memory: 256\n", "    memory: 256\n    secrets: [API_KEY]\n", 1))
	secret := "s3cr3t-value-1"
	e.f.Getenv = func(k string) string {
		if k == "API_KEY" {
			return secret
		}
		return ""
	}
	var all strings.Builder
	for i, args := range [][]string{{"deploy", "--debug"}, {"deploy", "--dry-run", "-o", "json", "--debug"}} {
		if code := e.run(args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, e.errOut)
		}
		all.WriteString(e.out.String() + e.errOut.String())
		if i == 0 {
			secret = "s3cr3t-value-2" // rotated: an update naming the key only
		}
	}
	if st, _ := srv.Function("shop-inventory"); st.Environment["API_KEY"] != "s3cr3t-value-1" {
		t.Fatalf("secret not deployed: %v", st.Environment)
	}
	if !strings.Contains(all.String(), `"environment ~API_KEY"`) {
		t.Fatalf("the plan does not name the changed key:\n%s", all.String())
	}
	for _, leak := range []string{"s3cr3t-value", "awstest-secret", "AKIDAWSFAKE"} {
		if strings.Contains(all.String(), leak) {
			t.Fatalf("output contains %q:\n%s", leak, all.String())
		}
	}
}

// failBus fails the test if anything is published.
type failBus struct{ t *testing.T }

func (b failBus) Publish(context.Context, string, []providers.Event) ([]providers.PublishResult, error) {
	b.t.Fatal("published")
	return nil, nil
}

// A function deployed under the earlier, bare naming is adopted: the plan
// says so (and --detailed-exitcode exits 2) and the deploy migrates it;
// a name held by another project fails the plan before any write.
func TestAWSFakeEarlierNamingIsRenamedInThePlan(t *testing.T) {
	e, srv := newAWSFakeCmdEnv(t)
	// inventory as the earlier naming left it: the bare name, tagged.
	srv.SeedFunction(awstest.FunctionSpec{Name: "inventory", Runtime: "nodejs22.x", Handler: "index.handler",
		Tags: map[string]string{"evcli:project": "shop", "evcli:function": "inventory"}, Publish: true, Alias: "live"})
	srv.ResetCalls()
	if code := e.run("deploy", "--dry-run", "--detailed-exitcode"); code != 2 {
		t.Fatalf("dry run: exit %d, want 2\n%s%s", code, e.out, e.errOut)
	}
	if !strings.Contains(e.out.String(), "~ inventory") || !strings.Contains(e.out.String(), "rename inventory -> shop-inventory") {
		t.Fatalf("plan:\n%s", e.out)
	}
	if m := srv.MutatingCalls(); len(m) != 0 {
		t.Fatalf("dry run wrote %v", m)
	}
	if code := e.run("deploy"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, e.errOut)
	}
	if _, ok := srv.Function("inventory"); ok {
		t.Fatal("the bare inventory still exists")
	}
	if _, ok := srv.Function("shop-inventory"); !ok {
		t.Fatal("shop-inventory was not created")
	}
	srv.ResetCalls()
	if code := e.run("deploy", "--dry-run", "--detailed-exitcode"); code != 0 {
		t.Fatalf("after the migration: exit %d\n%s", code, e.out)
	}

	// Another project's function under our physical name: exit 1 at plan.
	srv.SeedFunction(awstest.FunctionSpec{Name: "shop-payment", Tags: map[string]string{"evcli:project": "shop-legacy"}, Publish: true, Alias: "live"})
	srv.ResetCalls()
	if code := e.run("deploy"); code != 1 {
		t.Fatalf("collision: exit %d, want 1\n%s", code, e.errOut)
	}
	if !strings.Contains(e.errOut.String(), "shop-payment") || !strings.Contains(e.errOut.String(), "shop-legacy") {
		t.Fatalf("stderr:\n%s", e.errOut)
	}
	if m := srv.MutatingCalls(); len(m) != 0 {
		t.Fatalf("wrote before failing: %v", m)
	}
}
