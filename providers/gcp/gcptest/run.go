package gcptest

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// run is the Cloud Run part of the fake: the service under each function,
// its revisions (one per deploy that changed the function) and its
// traffic. Cloud Functions moves all traffic to a new revision; UpdateService
// can pin it to an earlier one (rollback), and invoking the function's URL
// runs the revision that has the traffic.
type run struct {
	runpb.UnimplementedServicesServer
	runpb.UnimplementedRevisionsServer
	s *Server
	// services by full name; s.mu guards them.
	services map[string]*service
}

type service struct {
	policy    *iampb.Policy     // its IAM policy; Etag changes with every write
	revisions []*runpb.Revision // in creation order
	sources   map[string][]byte // by revision full name
	pinned    string            // the revision with all traffic, "" = the latest
}

// newRevision records fn's new revision (s.mu held).
func (r *run) newRevision(fn string, svcName, revShort string, src []byte) {
	if r.services == nil {
		r.services = map[string]*service{}
	}
	sv := r.services[svcName]
	if sv == nil {
		sv = &service{sources: map[string][]byte{}}
		r.services[svcName] = sv
	}
	full := svcName + "/revisions/" + revShort
	sv.revisions = append(sv.revisions, &runpb.Revision{Name: full, Service: svcName, CreateTime: timestamppb.Now()})
	sv.sources[full] = src
	sv.pinned = "" // Cloud Functions sends all traffic to the new revision
}

// live is the revision serving sv's traffic (s.mu held).
func (sv *service) live() string {
	if sv.pinned != "" {
		return sv.pinned
	}
	if len(sv.revisions) == 0 {
		return ""
	}
	return sv.revisions[len(sv.revisions)-1].Name
}

func (r *run) toProto(name string, sv *service) *runpb.Service {
	out := &runpb.Service{Name: name}
	if len(sv.revisions) > 0 {
		out.LatestReadyRevision = sv.revisions[len(sv.revisions)-1].Name
		out.LatestCreatedRevision = out.LatestReadyRevision
	}
	if sv.pinned == "" {
		out.Traffic = []*runpb.TrafficTarget{{Type: runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, Percent: 100}}
	} else {
		out.Traffic = []*runpb.TrafficTarget{{Type: runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION,
			Revision: sv.pinned[strings.LastIndex(sv.pinned, "/")+1:], Percent: 100}}
	}
	out.TrafficStatuses = []*runpb.TrafficTargetStatus{{Type: out.Traffic[0].Type, Revision: sv.live()[strings.LastIndex(sv.live(), "/")+1:], Percent: 100}}
	return out
}

func (r *run) GetService(_ context.Context, req *runpb.GetServiceRequest) (*runpb.Service, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.s.reads++
	if err := r.s.injected("GetService"); err != nil {
		return nil, err
	}
	sv, ok := r.services[req.Name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", req.Name)
	}
	return r.toProto(req.Name, sv), nil
}

func (r *run) ListRevisions(_ context.Context, req *runpb.ListRevisionsRequest) (*runpb.ListRevisionsResponse, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.s.reads++
	if err := r.s.injected("ListRevisions"); err != nil {
		return nil, err
	}
	sv, ok := r.services[req.Parent]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", req.Parent)
	}
	out := &runpb.ListRevisionsResponse{}
	// Newest first, as Cloud Run lists them.
	for i := len(sv.revisions) - 1; i >= 0; i-- {
		out.Revisions = append(out.Revisions, proto.Clone(sv.revisions[i]).(*runpb.Revision))
	}
	sort.SliceStable(out.Revisions, func(i, j int) bool {
		return out.Revisions[i].CreateTime.AsTime().After(out.Revisions[j].CreateTime.AsTime())
	})
	return out, nil
}

// UpdateService applies the service's traffic (the only field the fake
// changes): all of it to one revision, or to the latest.
func (r *run) UpdateService(_ context.Context, req *runpb.UpdateServiceRequest) (*longrunningpb.Operation, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if err := r.s.injected("UpdateService"); err != nil {
		return nil, err
	}
	name := req.GetService().GetName()
	sv, ok := r.services[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", name)
	}
	tr := req.GetService().GetTraffic()
	if len(tr) != 1 || tr[0].Percent != 100 {
		return nil, status.Error(codes.InvalidArgument, "the fake takes all traffic to one target")
	}
	switch tr[0].Type {
	case runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST:
		sv.pinned = ""
	case runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION:
		full := name + "/revisions/" + tr[0].Revision
		if _, ok := sv.sources[full]; !ok {
			return nil, status.Errorf(codes.InvalidArgument, "Revision named '%s' does not exist.", tr[0].Revision)
		}
		sv.pinned = full
	default:
		return nil, status.Error(codes.InvalidArgument, "traffic target type is required")
	}
	r.s.record(Call{Method: "UpdateService", Resource: name})
	// Done at once: traffic moves without a new revision.
	r.s.nextID++
	loc := name[:strings.Index(name, "/services/")]
	op := &longrunningpb.Operation{Name: fmt.Sprintf("%s/operations/run-%d", loc, r.s.nextID), Done: true}
	res, _ := anypb.New(r.toProto(name, sv))
	op.Result = &longrunningpb.Operation_Response{Response: res}
	op.Metadata = res
	r.s.ops[op.Name] = &operation{op: op, finish: func() (proto.Message, error) { return nil, nil }}
	return proto.Clone(op).(*longrunningpb.Operation), nil
}

// GetIamPolicy answers the service's policy (empty, version 1, with an
// etag, before the first write).
func (r *run) GetIamPolicy(_ context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.s.reads++
	if err := r.s.injected("GetIamPolicy"); err != nil {
		return nil, err
	}
	sv, ok := r.services[req.Resource]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", req.Resource)
	}
	return proto.Clone(sv.iamPolicy()).(*iampb.Policy), nil
}

func (sv *service) iamPolicy() *iampb.Policy {
	if sv.policy == nil {
		sv.policy = &iampb.Policy{Version: 1, Etag: []byte("BwYAAAAAAAE=")}
	}
	return sv.policy
}

// SetIamPolicy replaces the service's policy. A policy whose etag is not
// the current one is refused with Aborted, as Google refuses a
// read-modify-write that raced another (an empty etag overwrites).
func (r *run) SetIamPolicy(_ context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if err := r.s.injected("SetIamPolicy"); err != nil {
		return nil, err
	}
	sv, ok := r.services[req.Resource]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Resource '%s' was not found", req.Resource)
	}
	cur := sv.iamPolicy()
	if len(req.GetPolicy().GetEtag()) > 0 && string(req.Policy.Etag) != string(cur.Etag) {
		return nil, status.Error(codes.Aborted, "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.")
	}
	for _, b := range req.GetPolicy().GetBindings() {
		if !strings.HasPrefix(b.Role, "roles/") {
			return nil, status.Errorf(codes.InvalidArgument, "Role %s is not supported for this resource.", b.Role)
		}
		for _, m := range b.Members {
			if !strings.Contains(m, ":") && m != "allUsers" && m != "allAuthenticatedUsers" {
				return nil, status.Errorf(codes.InvalidArgument, "Invalid member %q: the form is serviceAccount:EMAIL, user:EMAIL, ...", m)
			}
		}
	}
	p := proto.Clone(req.Policy).(*iampb.Policy)
	r.s.nextID++
	p.Etag = []byte(fmt.Sprintf("BwYAAAAA%04d=", r.s.nextID))
	if p.Version == 0 {
		p.Version = 1
	}
	sv.policy = p
	r.s.record(Call{Method: "SetIamPolicy", Resource: req.Resource})
	return proto.Clone(p).(*iampb.Policy), nil
}

// mayInvoke reports whether member holds roles/run.invoker (or owner
// roles that include it) on the service (s.mu held).
func (r *run) mayInvoke(svcName, member string) bool {
	sv := r.services[svcName]
	if sv == nil || sv.policy == nil {
		return false
	}
	for _, b := range sv.policy.Bindings {
		if b.Role != "roles/run.invoker" && b.Role != "roles/run.admin" && b.Role != "roles/owner" {
			continue
		}
		for _, m := range b.Members {
			if m == member || m == "allUsers" || m == "allAuthenticatedUsers" {
				return true
			}
		}
	}
	return false
}
