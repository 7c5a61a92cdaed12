package awstest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Default identity of the fake account.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "123456789012"
	// DefaultSettleReads is how many Get* reads of a function it takes for
	// Pending to become Active and InProgress to become Successful.
	DefaultSettleReads = 2
)

// Server is a stateful, in-memory AWS endpoint for Lambda, IAM, STS,
// EventBridge, CloudWatch Logs, S3 and Step Functions on 127.0.0.1. All methods are safe for
// concurrent use.
type Server struct {
	srv *httptest.Server

	mu          sync.Mutex
	region      string
	account     string
	settleReads int
	roleCheck   bool
	uploadLimit int
	now         func() time.Time
	seq         int
	curReqID    string // the request being answered

	calls  []Call
	gen    int // bumped by ResetCalls
	faults []*faultState

	invoke        InvokeFunc
	deliver       DeliverFunc
	delivering    sync.WaitGroup
	putEventsFail func(Event) (code, message string)
	putTargetFail func(bus, rule string, t Target) (code, message string)

	// iamHome, when set, answers this server's IAM calls: IAM is global
	// to the account, so fakes of two regions share one IAM.
	iamHome *Server

	functions map[string]*function
	roles     map[string]*role
	buses     map[string]*bus
	groups    map[string]*logGroup
	buckets   map[string]*bucket
	machines  map[string]*stateMachine
	// failedInvocations are deliveries to state machines that started nothing.
	failedInvocations []FailedInvocation
}

// Option configures a Server.
type Option func(*Server)

// WithRegion sets the region in ARNs and in Config (default us-east-1).
func WithRegion(region string) Option { return func(s *Server) { s.region = region } }

// WithIAMOf makes home answer this fake's IAM calls (and record them), as
// IAM is one per account whatever the region: two fakes of one account in
// two regions, the second created WithRegion(r2), WithIAMOf(first).
func WithIAMOf(home *Server) Option { return func(s *Server) { s.iamHome = home } }

// WithAccount sets the account ID in ARNs and GetCallerIdentity (default 123456789012).
func WithAccount(account string) Option { return func(s *Server) { s.account = account } }

// WithSettleReads sets how many Get* reads of a function (GetFunction,
// GetFunctionConfiguration) it takes after a CreateFunction or an update
// until the function is Active / Successful: the n-th read is the first to
// see the settled state. 0 settles at once.
func WithSettleReads(n int) Option { return func(s *Server) { s.settleReads = n } }

// WithRoleCheck makes CreateFunction and UpdateFunctionConfiguration refuse a
// role of this account that does not exist in the fake IAM with Lambda's
// InvalidParameterValueException "The role defined for the function cannot be
// assumed by Lambda.".
func WithRoleCheck() Option { return func(s *Server) { s.roleCheck = true } }

// WithClock sets the clock used for timestamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithInvoke sets the function that computes Invoke results (default: echo the payload).
func WithInvoke(f InvokeFunc) Option { return func(s *Server) { s.invoke = f } }

// New starts a fake on 127.0.0.1. Close it when done.
func New(opts ...Option) *Server {
	s := &Server{
		region:      DefaultRegion,
		account:     DefaultAccount,
		settleReads: DefaultSettleReads,
		now:         time.Now,
		functions:   map[string]*function{},
		roles:       map[string]*role{},
		buses:       map[string]*bus{},
		groups:      map[string]*logGroup{},
		buckets:     map[string]*bucket{},
		machines:    map[string]*stateMachine{},
	}
	for _, o := range opts {
		o(s)
	}
	s.buses["default"] = s.newBus("default", nil)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// URL is the endpoint, e.g. http://127.0.0.1:41234 (use it as BaseEndpoint or AWS_ENDPOINT_URL).
func (s *Server) URL() string { return s.srv.URL }

// Region is the fake's region.
func (s *Server) Region() string { s.mu.Lock(); defer s.mu.Unlock(); return s.region }

// Account is the fake's account ID.
func (s *Server) Account() string { s.mu.Lock(); defer s.mu.Unlock(); return s.account }

// SetAccount changes the account ID returned by GetCallerIdentity and used in new ARNs.
func (s *Server) SetAccount(account string) { s.mu.Lock(); defer s.mu.Unlock(); s.account = account }

// SetSettleReads changes the number of reads it takes a function to settle (see WithSettleReads).
func (s *Server) SetSettleReads(n int) { s.mu.Lock(); defer s.mu.Unlock(); s.settleReads = n }

// Config returns an aws.Config for the fake: static dummy credentials, the
// fake's region, BaseEndpoint = URL, and a standard retryer (3 attempts) that
// neither sleeps between attempts nor runs out of retry tokens, so retried
// throttles show up in Calls at once.
func (s *Server) Config(ctx context.Context) aws.Config {
	return aws.Config{
		Region:       s.Region(),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDAWSFAKE", "awstest-secret", ""),
		BaseEndpoint: aws.String(s.URL()),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.RateLimiter = ratelimit.None
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
}

// Env returns environment variables that point an SDK-based program (e.g.
// the evcli binary in a script test) at the fake.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.URL(),
		"AWS_ACCESS_KEY_ID=AKIDAWSFAKE",
		"AWS_SECRET_ACCESS_KEY=awstest-secret",
		"AWS_REGION=" + s.Region(),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
}

// Call is one HTTP request the fake answered, retries included.
type Call struct {
	Service  string // lambda, iam, sts, events, logs, s3
	Action   string // the API operation, e.g. UpdateFunctionCode
	Resource string // function, role, rule (bus/rule), log group, bucket/key; "" when none
	Mutating bool   // the operation changes state (whether or not it succeeded)
	Status   int    // HTTP status answered
	Code     string // error code answered, "" on success
}

func (c Call) String() string {
	s := c.Service + ":" + c.Action
	if c.Resource != "" {
		s += " " + c.Resource
	}
	if c.Code != "" {
		s += fmt.Sprintf(" -> %d %s", c.Status, c.Code)
	}
	return s
}

// Calls returns every request so far, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// MutatingCalls returns the calls whose operation changes state.
func (s *Server) MutatingCalls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Mutating {
			out = append(out, c)
		}
	}
	return out
}

// ResetCalls forgets the recorded calls.
func (s *Server) ResetCalls() { s.mu.Lock(); defer s.mu.Unlock(); s.calls = nil; s.gen++ }

// IsMutating reports whether an operation changes state: Create*, Update*,
// Put* (PutEvents too), Delete*, Publish*, Add*, Remove*, Tag*, Untag*,
// Attach*, Detach*, Enable*, Disable*.
func IsMutating(action string) bool {
	for _, p := range []string{"Create", "Update", "Put", "Delete", "Publish", "Add", "Remove", "Tag", "Untag", "Attach", "Detach", "Enable", "Disable"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// Fault makes matching requests fail before they touch any state.
type Fault struct {
	Service string // lambda, iam, sts, events, logs, s3; "" any
	Action  string // e.g. UpdateFunctionCode; "" any
	Match   string // substring of the call's Resource; "" any
	Code    string // error code, e.g. TooManyRequestsException, Throttling, ThrottlingException
	Status  int    // HTTP status; 0 picks the service's usual status for Code
	Message string // "" picks a message for Code
	Times   int    // how many matching requests fail: 0 or 1 once, -1 forever
}

type faultState struct {
	Fault
	left int
}

// Inject adds a fault. Faults are tried in the order they were added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := f.Times
	if left == 0 {
		left = 1
	}
	s.faults = append(s.faults, &faultState{Fault: f, left: left})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.mu.Lock(); defer s.mu.Unlock(); s.faults = nil }

func (s *Server) takeFault(service, action, resource string) *apiError {
	for _, f := range s.faults {
		if f.left == 0 || (f.Service != "" && f.Service != service) || (f.Action != "" && f.Action != action) ||
			(f.Match != "" && !strings.Contains(resource, f.Match)) {
			continue
		}
		if f.left > 0 {
			f.left--
		}
		status := f.Status
		if status == 0 {
			status = defaultStatus(service, f.Code)
		}
		msg := f.Message
		if msg == "" {
			name := resource
			if service == "lambda" && resource != "" {
				name = s.functionArn(resource)
			}
			msg = defaultMessage(f.Code, name)
		}
		return &apiError{Status: status, Code: f.Code, Message: msg}
	}
	return nil
}

func defaultStatus(service, code string) int {
	switch code {
	case "TooManyRequestsException":
		return 429
	case "ResourceNotFoundException":
		if service == "lambda" {
			return 404
		}
		return 400
	case "NoSuchEntity", "NoSuchBucket", "NoSuchKey", "NotFound":
		return 404
	case "ResourceConflictException", "EntityAlreadyExists", "DeleteConflict", "BucketAlreadyOwnedByYou":
		return 409
	case "ServiceException", "ServiceFailure", "InternalException", "InternalError", "InternalFailure":
		return 500
	case "ServiceUnavailable", "ServiceUnavailableException", "SlowDown":
		return 503
	case "AccessDenied", "AccessDeniedException":
		return 403
	}
	return 400
}

func defaultMessage(code, resource string) string {
	switch code {
	case "TooManyRequestsException", "ThrottlingException", "Throttling":
		return "Rate exceeded"
	case "ResourceConflictException":
		return "The operation cannot be performed at this time. An update is in progress for resource: " + resource
	case "AccessDenied", "AccessDeniedException":
		return "User is not authorized to perform this operation on " + resource
	}
	return "injected " + code + " for " + resource
}

// apiError is an error answer in the service's wire format.
type apiError struct {
	Status  int
	Code    string
	Message string
	extra   map[string]string // more fields for the error body (Lambda's Reason)
}

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// reply is a successful answer.
type reply struct {
	status      int
	contentType string
	header      map[string]string
	body        []byte
	// then, when set, runs after the lock is released and gives the final
	// answer (Invoke calls the test's function there).
	then func() (reply, *apiError)
}

// op is one parsed request: the operation, its resource, and what it does.
type op struct {
	action   string
	resource string
	// run is called with s.mu held.
	run func() (reply, *apiError)
}

type service interface {
	parse(r *http.Request, body []byte) (op, *apiError)
	writeError(w http.ResponseWriter, action string, e *apiError, requestID string)
}

func (s *Server) services(name string) service {
	switch name {
	case "lambda":
		return lambdaService{s}
	case "iam":
		return iamService{s}
	case "sts":
		return stsService{s}
	case "events":
		return eventsService{s}
	case "logs":
		return logsService{s}
	case "s3":
		return s3Service{s}
	case "states":
		return statesService{s}
	}
	return nil
}

// serviceOf tells which service a request is for: the SigV4 credential
// scope first, then X-Amz-Target, the query protocol's Version, and paths.
func serviceOf(r *http.Request, body []byte) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		if i := strings.Index(auth, "Credential="); i >= 0 {
			cred := auth[i+len("Credential="):]
			if j := strings.IndexAny(cred, ", "); j >= 0 {
				cred = cred[:j]
			}
			if parts := strings.Split(cred, "/"); len(parts) == 5 {
				switch parts[3] {
				case "lambda", "iam", "sts", "events", "logs", "s3", "states":
					return parts[3]
				}
			}
		}
	}
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, "AWSEvents."):
		return "events"
	case strings.HasPrefix(target, "Logs_20140328."):
		return "logs"
	case strings.HasPrefix(target, "AWSStepFunctions."):
		return "states"
	}
	for _, p := range []string{"/2015-03-31/", "/2017-03-31/", "/2017-10-31/", "/2019-09-30/"} {
		if strings.HasPrefix(r.URL.Path, p) {
			return "lambda"
		}
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if q, err := url.ParseQuery(string(body)); err == nil {
			switch q.Get("Version") {
			case "2010-05-08":
				return "iam"
			case "2011-06-15":
				return "sts"
			}
		}
	}
	return "s3"
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/__awstest/code/") {
		s.serveCode(w, r)
		return
	}
	name := serviceOf(r, body)
	if name == "iam" && s.iamHome != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.iamHome.serveHTTP(w, r)
		return
	}
	svc := s.services(name)
	if name == "s3" {
		body, err = decodeAWSChunked(r, body)
		if err != nil {
			svc.writeError(w, "", errf(400, "IncompleteBody", "%v", err), "")
			return
		}
	}
	o, perr := svc.parse(r, body)

	s.mu.Lock()
	s.seq++
	reqID := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
	idx, gen := len(s.calls), s.gen
	action := o.action
	if perr != nil && action == "" {
		action = "Unknown"
	}
	s.calls = append(s.calls, Call{Service: name, Action: action, Resource: o.resource, Mutating: IsMutating(action)})
	var rep reply
	apiErr := perr
	if apiErr == nil {
		apiErr = s.takeFault(name, o.action, o.resource)
	}
	if apiErr == nil {
		s.curReqID = reqID
		rep, apiErr = o.run()
	}
	s.mu.Unlock()
	if apiErr == nil && rep.then != nil {
		rep, apiErr = rep.then()
	}

	status := rep.status
	if status == 0 {
		status = http.StatusOK
	}
	code := ""
	if apiErr != nil {
		status, code = apiErr.Status, apiErr.Code
	}
	s.mu.Lock()
	if gen == s.gen { // else ResetCalls ran meanwhile
		s.calls[idx].Status, s.calls[idx].Code = status, code
	}
	s.mu.Unlock()

	w.Header().Set("X-Amzn-Requestid", reqID)
	if name == "s3" {
		w.Header().Set("X-Amz-Request-Id", reqID)
		w.Header().Set("X-Amz-Id-2", "awstest")
	}
	if apiErr != nil {
		svc.writeError(w, action, apiErr, reqID)
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.contentType != "" {
		w.Header().Set("Content-Type", rep.contentType)
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(rep.body)))
	w.WriteHeader(status)
	w.Write(rep.body)
}

// decodeAWSChunked undoes S3's aws-chunked content encoding (used for
// streaming signatures and trailing checksums).
func decodeAWSChunked(r *http.Request, body []byte) ([]byte, error) {
	sha := r.Header.Get("X-Amz-Content-Sha256")
	if !strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") && !strings.HasPrefix(sha, "STREAMING-") {
		return body, nil
	}
	var out bytes.Buffer
	rest := body
	for {
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			return nil, fmt.Errorf("aws-chunked body: missing chunk header")
		}
		header := string(rest[:i])
		if j := strings.IndexByte(header, ';'); j >= 0 {
			header = header[:j]
		}
		var n int
		if _, err := fmt.Sscanf(header, "%x", &n); err != nil || n < 0 || strings.HasPrefix(header, "+") {
			return nil, fmt.Errorf("aws-chunked body: bad chunk size %q", header)
		}
		rest = rest[i+2:]
		if n == 0 {
			return out.Bytes(), nil
		}
		if n > len(rest)-2 {
			return nil, fmt.Errorf("aws-chunked body: chunk of %d bytes is truncated", n)
		}
		out.Write(rest[:n])
		rest = rest[n+2:]
	}
}

func (s *Server) requestTime() time.Time { return s.now().UTC() }
