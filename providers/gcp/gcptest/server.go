package gcptest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/firestore/apiv1/admin/adminpb"
	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/logging/apiv2/loggingpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Call is one mutating call the fake accepted.
type Call struct {
	Method   string // "CreateFunction", "UpdateFunction", "DeleteFunction", "Upload"
	Resource string // the function's full name, or the uploaded object
	Mask     []string
}

// InvokeFunc stands in for a deployed function's code: it gets the
// function and the HTTP request's headers and body and returns the answer
// and the lines the code printed (written to Cloud Logging).
type InvokeFunc func(fn *functionspb.Function, source []byte, header http.Header, body []byte) Result

// Result is what an invocation answers and prints.
type Result struct {
	Status int
	Body   []byte
	Logs   []string
	// MemoryMB is the memory the invocation's container used (Cloud
	// Monitoring's utilization); 0 means 32.
	MemoryMB int
}

// Server is the fake. Its zero value is not usable: call New.
type Server struct {
	functionspb.UnimplementedFunctionServiceServer
	longrunningpb.UnimplementedOperationsServer

	grpc *grpc.Server
	lis  net.Listener
	http *httptest.Server

	mu        sync.Mutex
	functions map[string]*functionspb.Function // by full name
	sources   map[string][]byte                // the source each function runs, by full name
	uploads   map[string][]byte                // by object
	ops       map[string]*operation
	calls     []Call
	reads     int
	fail      map[string][]error // method -> errors to return, first first
	nextID    int
	settle    int
	invoke    InvokeFunc
	start     StartFunc
	onCall    func(Call)
	logs      *logs
	run       *run
	mon       *monitoring
	fsAdmin   *firestoreAdmin
	sm        *secretManager
}

type operation struct {
	op      *longrunningpb.Operation
	polls   int
	finish  func() (proto.Message, error) // runs when the operation completes
	stages  []*functionspb.Stage
	verb    string
	target  string
	settled bool
}

// Option configures New.
type Option func(*Server)

// WithSettle makes each operation answer "not done" to n polls before it
// completes (default 1), reporting its stages as it goes.
func WithSettle(n int) Option { return func(s *Server) { s.settle = n } }

// WithOnCall has f told of every mutating call, in order, as it is
// accepted (to merge them with another fake's).
func WithOnCall(f func(Call)) Option { return func(s *Server) { s.onCall = f } }

// StartFunc stands in for a new revision's container starting: env is
// the environment it gets (secrets' values included); an error fails the
// revision, as a container that exits before it listens does.
type StartFunc func(fn *functionspb.Function, env map[string]string) error

// WithStart sets what starting a new revision does (default: it starts).
func WithStart(f StartFunc) Option { return func(s *Server) { s.start = f } }

// WithInvoke sets what invoking a function's URL does (default: echo).
func WithInvoke(f InvokeFunc) Option { return func(s *Server) { s.invoke = f } }

// New starts the fake on 127.0.0.1.
func New(opts ...Option) (*Server, error) {
	s := &Server{functions: map[string]*functionspb.Function{}, sources: map[string][]byte{}, uploads: map[string][]byte{},
		ops: map[string]*operation{}, fail: map[string][]error{}, settle: 1}
	for _, o := range opts {
		o(s)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.lis = lis
	s.grpc = grpc.NewServer()
	s.logs = newLogs(s)
	s.run = &run{s: s}
	s.mon = &monitoring{s: s}
	s.fsAdmin = &firestoreAdmin{s: s, fields: map[string]*adminpb.Field{}}
	s.sm = &secretManager{s: s, secrets: map[string]*secret{}}
	secretmanagerpb.RegisterSecretManagerServiceServer(s.grpc, s.sm)
	adminpb.RegisterFirestoreAdminServer(s.grpc, s.fsAdmin)
	monitoringpb.RegisterMetricServiceServer(s.grpc, s.mon)
	functionspb.RegisterFunctionServiceServer(s.grpc, s)
	runpb.RegisterServicesServer(s.grpc, s.run)
	runpb.RegisterRevisionsServer(s.grpc, s.run)
	loggingpb.RegisterLoggingServiceV2Server(s.grpc, s.logs)
	longrunningpb.RegisterOperationsServer(s.grpc, s)
	go s.grpc.Serve(lis)
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s, nil
}

// Addr is the gRPC address (host:port).
func (s *Server) Addr() string { return s.lis.Addr().String() }

// URL is the gRPC endpoint as the driver's override takes it.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Close stops the fake.
func (s *Server) Close() {
	s.grpc.Stop()
	s.http.Close()
}

// Fail makes the next len(errs) calls of method (e.g. "CreateFunction",
// "GetFunction", "Upload") fail with errs in turn, before they change
// anything: status.Error(codes.PermissionDenied, "...") for the gRPC
// methods, an *HTTPError for Upload.
func (s *Server) Fail(method string, errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = append(s.fail[method], errs...)
}

// HTTPError is an injected answer of the upload URL.
type HTTPError struct {
	Status int
	Body   string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

func (s *Server) injected(method string) error {
	if errs := s.fail[method]; len(errs) > 0 {
		s.fail[method] = errs[1:]
		return errs[0]
	}
	return nil
}

// MutatingCalls returns the mutating calls so far.
func (s *Server) MutatingCalls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Reads counts the read calls (Get, List, GetOperation) so far.
func (s *Server) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// Function returns a copy of the function with full name, if it exists.
func (s *Server) Function(name string) (*functionspb.Function, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.functions[name]
	if !ok {
		return nil, false
	}
	return proto.Clone(f).(*functionspb.Function), true
}

// Functions returns copies of every function, by name.
func (s *Server) Functions() []*functionspb.Function {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*functionspb.Function
	for _, f := range s.functions {
		out = append(out, proto.Clone(f).(*functionspb.Function))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Source returns the source zip the function with full name runs.
func (s *Server) Source(name string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.sources[name]
	return b, ok
}

var (
	reParent = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+$`)
	reID     = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
)

func (s *Server) GenerateUploadUrl(_ context.Context, req *functionspb.GenerateUploadUrlRequest) (*functionspb.GenerateUploadUrlResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.injected("GenerateUploadUrl"); err != nil {
		return nil, err
	}
	if !reParent.MatchString(req.Parent) {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not projects/*/locations/*", req.Parent)
	}
	s.nextID++
	obj := fmt.Sprintf("%s/upload-%d.zip", strings.ReplaceAll(req.Parent, "/", "-"), s.nextID)
	return &functionspb.GenerateUploadUrlResponse{
		UploadUrl:     s.http.URL + "/upload/" + obj,
		StorageSource: &functionspb.StorageSource{Bucket: "gcf-v2-uploads-fake", Object: obj},
	}, nil
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if obj, ok := strings.CutPrefix(r.URL.Path, "/upload/"); ok {
		if r.Method != http.MethodPut {
			http.Error(w, "upload with PUT", http.StatusMethodNotAllowed)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/zip" {
			http.Error(w, "the signed URL was made for Content-Type application/zip, not "+ct, http.StatusForbidden)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.injected("Upload"); err != nil {
			if he, ok := err.(*HTTPError); ok {
				http.Error(w, he.Body, he.Status)
				return
			}
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.uploads[obj] = body
		s.record(Call{Method: "Upload", Resource: obj})
		w.WriteHeader(http.StatusOK)
		return
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/run/"); ok {
		s.mu.Lock()
		var fn *functionspb.Function
		for _, f := range s.functions {
			if f.State == functionspb.Function_ACTIVE && lastSegment(f.Name) == name {
				fn = proto.Clone(f).(*functionspb.Function)
			}
		}
		invoke := s.invoke
		var src []byte
		if fn != nil {
			src = s.sources[fn.Name]
			if sv := s.run.services[fn.GetServiceConfig().GetService()]; sv != nil && sv.live() != "" {
				src = sv.sources[sv.live()]
				fn.ServiceConfig.Revision = sv.live()[strings.LastIndex(sv.live(), "/")+1:]
			}
			// The platform puts the secrets' values in the instance's
			// environment; the hook sees them there.
			if vals, err := s.sm.resolve(fn); err == nil && len(vals) > 0 {
				if fn.ServiceConfig.EnvironmentVariables == nil {
					fn.ServiceConfig.EnvironmentVariables = map[string]string{}
				}
				for k, v := range vals {
					fn.ServiceConfig.EnvironmentVariables[k] = v
				}
			}
		}
		s.mu.Unlock()
		if fn == nil {
			http.Error(w, "Page not found", http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") == "" {
			http.Error(w, "Your client does not have permission to the requested URL", http.StatusForbidden)
			return
		}
		// A push's OIDC token (gcptest.Push) names its service account,
		// which needs roles/run.invoker on the function's service. Other
		// tokens (a person's identity token) are let through.
		if sa, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "+PushTokenPrefix); ok {
			s.mu.Lock()
			may := s.run.mayInvoke(fn.GetServiceConfig().GetService(), "serviceAccount:"+sa)
			s.mu.Unlock()
			if !may {
				http.Error(w, "Your client does not have permission to the requested URL", http.StatusForbidden)
				return
			}
		}
		body, _ := io.ReadAll(r.Body)
		start := time.Now()
		res := Result{Status: http.StatusOK, Body: body}
		if invoke != nil {
			res = invoke(fn, src, r.Header, body)
		}
		latency := time.Since(start)
		used := res.MemoryMB
		if used <= 0 {
			used = 32
		}
		s.mu.Lock()
		s.nextID++
		execID := fmt.Sprintf("%012x", s.nextID)
		s.mon.record(fn.GetServiceConfig().GetService()[strings.LastIndex(fn.GetServiceConfig().GetService(), "/")+1:],
			fn.GetServiceConfig().GetRevision(), start, used, memMB(fn.GetServiceConfig().GetAvailableMemory()))
		s.mu.Unlock()
		parts := strings.Split(fn.Name, "/") // projects/P/locations/R/functions/ID
		s.invocationLogs(parts[1], parts[3], parts[5], fn.GetServiceConfig().GetRevision(), execID, start, latency, res.Status, res.Logs)
		w.Header().Set("Function-Execution-Id", execID)
		w.WriteHeader(res.Status)
		w.Write(res.Body)
		return
	}
	http.NotFound(w, r)
}

// record notes a mutating call; s.mu is held.
func (s *Server) record(c Call) {
	s.calls = append(s.calls, c)
	if s.onCall != nil {
		s.onCall(c)
	}
}

// memMB reads available_memory in MiB (M as Mi, as Google's tiers do).
func memMB(s string) int {
	n, unit := 0, ""
	fmt.Sscanf(s, "%d%s", &n, &unit)
	if unit == "G" || unit == "Gi" {
		n *= 1024
	}
	return n
}

func lastSegment(name string) string { return name[strings.LastIndex(name, "/")+1:] }

func (s *Server) GetFunction(_ context.Context, req *functionspb.GetFunctionRequest) (*functionspb.Function, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if err := s.injected("GetFunction"); err != nil {
		return nil, err
	}
	f, ok := s.functions[req.Name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", req.Name)
	}
	return proto.Clone(f).(*functionspb.Function), nil
}

// reLabelFilter is the filter the fake understands: labels.KEY="VALUE",
// joined with AND.
var reLabelFilter = regexp.MustCompile(`^labels\.([a-z0-9_-]+)\s*=\s*"([^"]*)"$`)

func (s *Server) ListFunctions(_ context.Context, req *functionspb.ListFunctionsRequest) (*functionspb.ListFunctionsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if err := s.injected("ListFunctions"); err != nil {
		return nil, err
	}
	if !reParent.MatchString(req.Parent) {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not projects/*/locations/*", req.Parent)
	}
	want := map[string]string{}
	if req.Filter != "" {
		for _, term := range strings.Split(req.Filter, " AND ") {
			m := reLabelFilter.FindStringSubmatch(strings.TrimSpace(term))
			if m == nil {
				return nil, status.Errorf(codes.InvalidArgument, "the fake does not understand the filter term %q", term)
			}
			want[m[1]] = m[2]
		}
	}
	var names []string
	for name, f := range s.functions {
		if !strings.HasPrefix(name, req.Parent+"/functions/") {
			continue
		}
		ok := true
		for k, v := range want {
			if f.Labels[k] != v {
				ok = false
			}
		}
		if ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	size := int(req.PageSize)
	if size <= 0 || size > 100 {
		size = 100
	}
	start := 0
	if req.PageToken != "" {
		n, err := strconv.Atoi(req.PageToken)
		if err != nil || n < 0 || n > len(names) {
			return nil, status.Errorf(codes.InvalidArgument, "bad page token %q", req.PageToken)
		}
		start = n
	}
	end := min(start+size, len(names))
	resp := &functionspb.ListFunctionsResponse{}
	for _, n := range names[start:end] {
		resp.Functions = append(resp.Functions, proto.Clone(s.functions[n]).(*functionspb.Function))
	}
	if end < len(names) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// checkSource returns the uploaded bytes fn's storage source names.
func (s *Server) checkSource(fn *functionspb.Function) ([]byte, error) {
	ss := fn.GetBuildConfig().GetSource().GetStorageSource()
	if ss == nil {
		return nil, status.Error(codes.InvalidArgument, "build_config.source.storage_source is required")
	}
	b, ok := s.uploads[ss.Object]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "Failed to retrieve function source code: object gs://%s/%s was never uploaded", ss.Bucket, ss.Object)
	}
	return b, nil
}

func (s *Server) CreateFunction(_ context.Context, req *functionspb.CreateFunctionRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.injected("CreateFunction"); err != nil {
		return nil, err
	}
	if !reParent.MatchString(req.Parent) {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not projects/*/locations/*", req.Parent)
	}
	if !reID.MatchString(req.FunctionId) {
		return nil, status.Errorf(codes.InvalidArgument, "Invalid function id %q: it must match %s", req.FunctionId, reID)
	}
	name := req.Parent + "/functions/" + req.FunctionId
	if _, ok := s.functions[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Function %s already exists", req.FunctionId)
	}
	fn := proto.Clone(req.Function).(*functionspb.Function)
	if fn.GetBuildConfig().GetRuntime() == "" || fn.GetBuildConfig().GetEntryPoint() == "" {
		return nil, status.Error(codes.InvalidArgument, "build_config.runtime and build_config.entry_point are required")
	}
	src, err := s.checkSource(fn)
	if err != nil {
		return nil, err
	}
	fn.Name = name
	fn.Environment = functionspb.Environment_GEN_2
	fn.State = functionspb.Function_DEPLOYING
	if fn.ServiceConfig == nil {
		fn.ServiceConfig = &functionspb.ServiceConfig{}
	}
	s.defaults(fn)
	fn.CreateTime = timestamppb.Now()
	fn.UpdateTime = fn.CreateTime
	s.functions[name] = fn
	s.record(Call{Method: "CreateFunction", Resource: name})
	return s.startOp(name, "create", functionspb.OperationType_CREATE_FUNCTION, func() (proto.Message, error) {
		if err := s.startRevision(fn); err != nil {
			fn.State = functionspb.Function_FAILED
			return nil, err
		}
		s.sources[name] = src
		s.activate(fn, src)
		return proto.Clone(fn), nil
	}), nil
}

// startRevision is a new revision of fn starting: its secrets resolved
// (a missing one, or one its account may not read, fails it), then the
// start hook with its environment (s.mu held).
func (s *Server) startRevision(fn *functionspb.Function) error {
	vals, err := s.sm.resolve(fn)
	if err != nil {
		return err
	}
	if s.start == nil {
		return nil
	}
	env := map[string]string{}
	for k, v := range fn.GetServiceConfig().GetEnvironmentVariables() {
		env[k] = v
	}
	for k, v := range vals {
		env[k] = v
	}
	if err := s.start(fn, env); err != nil {
		return status.Errorf(codes.FailedPrecondition, "Could not create or update Cloud Run service %s: The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable: %v",
			lastSegment(fn.Name), err)
	}
	return nil
}

// defaults fills in what Google does when a field is not set.
func (s *Server) defaults(fn *functionspb.Function) {
	sc := fn.ServiceConfig
	if sc.AvailableMemory == "" {
		sc.AvailableMemory = "256M"
	}
	if sc.TimeoutSeconds == 0 {
		sc.TimeoutSeconds = 60
	}
	if sc.MaxInstanceCount == 0 {
		sc.MaxInstanceCount = 100
	}
	if sc.MaxInstanceRequestConcurrency == 0 {
		sc.MaxInstanceRequestConcurrency = 1
	}
	if sc.ServiceAccountEmail == "" {
		sc.ServiceAccountEmail = "123456789-compute@developer.gserviceaccount.com"
	}
	sc.AllTrafficOnLatestRevision = true
}

// activate makes fn ACTIVE on a new revision with its URL, running src.
func (s *Server) activate(fn *functionspb.Function, src []byte) {
	s.nextID++
	id := lastSegment(fn.Name)
	fn.State = functionspb.Function_ACTIVE
	fn.ServiceConfig.Service = strings.Replace(fn.Name, "/functions/", "/services/", 1)
	fn.ServiceConfig.Revision = fmt.Sprintf("%s-%05d-fak", id, s.nextID)
	fn.ServiceConfig.Uri = s.http.URL + "/run/" + id
	fn.Url = fn.ServiceConfig.Uri
	fn.UpdateTime = timestamppb.Now()
	s.run.newRevision(fn.Name, fn.ServiceConfig.Service, fn.ServiceConfig.Revision, src)
}

// updatable are the update-mask paths the fake applies.
var updatable = map[string]func(dst, src *functionspb.Function){
	"labels":      func(d, s *functionspb.Function) { d.Labels = s.Labels },
	"description": func(d, s *functionspb.Function) { d.Description = s.Description },
	"build_config.source": func(d, s *functionspb.Function) {
		d.BuildConfig.Source = s.GetBuildConfig().GetSource()
	},
	"build_config.runtime":     func(d, s *functionspb.Function) { d.BuildConfig.Runtime = s.GetBuildConfig().GetRuntime() },
	"build_config.entry_point": func(d, s *functionspb.Function) { d.BuildConfig.EntryPoint = s.GetBuildConfig().GetEntryPoint() },
	"service_config.available_memory": func(d, s *functionspb.Function) {
		d.ServiceConfig.AvailableMemory = s.GetServiceConfig().GetAvailableMemory()
	},
	"service_config.timeout_seconds": func(d, s *functionspb.Function) {
		d.ServiceConfig.TimeoutSeconds = s.GetServiceConfig().GetTimeoutSeconds()
	},
	"service_config.environment_variables": func(d, s *functionspb.Function) {
		d.ServiceConfig.EnvironmentVariables = s.GetServiceConfig().GetEnvironmentVariables()
	},
	"service_config.max_instance_count": func(d, s *functionspb.Function) {
		d.ServiceConfig.MaxInstanceCount = s.GetServiceConfig().GetMaxInstanceCount()
	},
	"service_config.service_account_email": func(d, s *functionspb.Function) {
		d.ServiceConfig.ServiceAccountEmail = s.GetServiceConfig().GetServiceAccountEmail()
	},
	"service_config.secret_environment_variables": func(d, s *functionspb.Function) {
		d.ServiceConfig.SecretEnvironmentVariables = s.GetServiceConfig().GetSecretEnvironmentVariables()
	},
}

func (s *Server) UpdateFunction(_ context.Context, req *functionspb.UpdateFunctionRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.injected("UpdateFunction"); err != nil {
		return nil, err
	}
	name := req.GetFunction().GetName()
	cur, ok := s.functions[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", name)
	}
	if cur.State == functionspb.Function_DEPLOYING {
		return nil, status.Errorf(codes.FailedPrecondition, "An operation on function %s is already in progress. Please try again later.", lastSegment(name))
	}
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, status.Error(codes.InvalidArgument, "the fake wants an update_mask (the driver sends one)")
	}
	next := proto.Clone(cur).(*functionspb.Function)
	var src []byte
	for _, p := range paths {
		apply, ok := updatable[p]
		if !ok {
			return nil, status.Errorf(codes.InvalidArgument, "update_mask path %q is not supported", p)
		}
		apply(next, req.Function)
		if p == "build_config.source" {
			b, err := s.checkSource(next)
			if err != nil {
				return nil, err
			}
			src = b
		}
	}
	s.defaults(next)
	was := cur.State
	cur.State = functionspb.Function_DEPLOYING
	s.record(Call{Method: "UpdateFunction", Resource: name, Mask: paths})
	return s.startOp(name, "update", functionspb.OperationType_UPDATE_FUNCTION, func() (proto.Message, error) {
		if err := s.startRevision(next); err != nil {
			cur.State = was // the revision failed; the one before (if any) keeps serving
			return nil, err
		}
		if src != nil {
			s.sources[name] = src
		}
		s.activate(next, s.sources[name])
		s.functions[name] = next
		return proto.Clone(next), nil
	}), nil
}

func (s *Server) DeleteFunction(_ context.Context, req *functionspb.DeleteFunctionRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.injected("DeleteFunction"); err != nil {
		return nil, err
	}
	cur, ok := s.functions[req.Name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", req.Name)
	}
	if cur.State == functionspb.Function_DEPLOYING {
		return nil, status.Errorf(codes.FailedPrecondition, "An operation on function %s is already in progress. Please try again later.", lastSegment(req.Name))
	}
	cur.State = functionspb.Function_DELETING
	s.record(Call{Method: "DeleteFunction", Resource: req.Name})
	return s.startOp(req.Name, "delete", functionspb.OperationType_DELETE_FUNCTION, func() (proto.Message, error) {
		delete(s.functions, req.Name)
		delete(s.sources, req.Name)
		delete(s.run.services, cur.GetServiceConfig().GetService())
		return &emptypb.Empty{}, nil
	}), nil
}

// startOp records an operation on target that completes after s.settle
// polls.
func (s *Server) startOp(target, verb string, typ functionspb.OperationType, finish func() (proto.Message, error)) *longrunningpb.Operation {
	s.nextID++
	loc := target[:strings.Index(target, "/functions/")]
	name := fmt.Sprintf("%s/operations/operation-%d", loc, s.nextID)
	o := &operation{op: &longrunningpb.Operation{Name: name}, finish: finish, verb: verb, target: target}
	if verb != "delete" {
		o.stages = []*functionspb.Stage{
			{Name: functionspb.Stage_BUILD, State: functionspb.Stage_NOT_STARTED},
			{Name: functionspb.Stage_SERVICE, State: functionspb.Stage_NOT_STARTED},
		}
	}
	s.ops[name] = o
	s.setMeta(o, typ)
	if s.settle <= 0 {
		s.complete(o)
	}
	return proto.Clone(o.op).(*longrunningpb.Operation)
}

func (s *Server) setMeta(o *operation, typ functionspb.OperationType) {
	md := &functionspb.OperationMetadata{CreateTime: timestamppb.Now(), Target: o.target, Verb: o.verb,
		ApiVersion: "v2", Stages: o.stages, OperationType: typ}
	a, _ := anypb.New(md)
	o.op.Metadata = a
}

func (s *Server) complete(o *operation) {
	res, err := o.finish()
	for _, st := range o.stages {
		st.State = functionspb.Stage_COMPLETE
	}
	var md functionspb.OperationMetadata
	if o.op.Metadata != nil {
		o.op.Metadata.UnmarshalTo(&md)
	}
	s.setMeta(o, md.OperationType)
	o.op.Done = true
	if err != nil {
		o.op.Result = &longrunningpb.Operation_Error{Error: status.Convert(err).Proto()}
		return
	}
	a, _ := anypb.New(res)
	o.op.Result = &longrunningpb.Operation_Response{Response: a}
}

func (s *Server) GetOperation(_ context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if err := s.injected("GetOperation"); err != nil {
		return nil, err
	}
	o, ok := s.ops[req.Name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "operation %s not found", req.Name)
	}
	if !o.op.Done {
		o.polls++
		// Stages advance one per poll: BUILD, then SERVICE.
		for i, st := range o.stages {
			switch {
			case i < o.polls-1:
				st.State = functionspb.Stage_COMPLETE
			case i == o.polls-1:
				st.State = functionspb.Stage_IN_PROGRESS
			}
		}
		var md functionspb.OperationMetadata
		o.op.Metadata.UnmarshalTo(&md)
		s.setMeta(o, md.OperationType)
		if o.polls > s.settle {
			s.complete(o)
		}
	}
	return proto.Clone(o.op).(*longrunningpb.Operation), nil
}
