package gcptest

import (
	"context"
	"fmt"
	"strings"

	"cloud.google.com/go/firestore/apiv1/admin/adminpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// firestoreAdmin is the Firestore Admin API's field configuration
// (google.firestore.admin.v1.FirestoreAdmin GetField and UpdateField), for
// TTL policies: Google's Firestore emulator has no admin API. As Google
// does, a field never configured is answered as inheriting its ancestor's
// index configuration (not NotFound), UpdateField takes only the paths
// index_config and ttl_config, and a TTL policy set is CREATING until
// SettleTTL (or a later GetField when settle polls are done) makes it ACTIVE.
type firestoreAdmin struct {
	adminpb.UnimplementedFirestoreAdminServer
	s      *Server
	fields map[string]*adminpb.Field // by full name
}

// fieldName checks projects/P/databases/D/collectionGroups/C/fields/F.
func fieldName(name string) error {
	p := strings.Split(name, "/")
	if len(p) != 8 || p[0] != "projects" || p[2] != "databases" || p[4] != "collectionGroups" || p[6] != "fields" ||
		p[1] == "" || p[3] == "" || p[5] == "" || p[7] == "" {
		return status.Errorf(codes.InvalidArgument, "Invalid field name %q: projects/{project}/databases/{database}/collectionGroups/{collection}/fields/{field}", name)
	}
	return nil
}

func (a *firestoreAdmin) GetField(_ context.Context, req *adminpb.GetFieldRequest) (*adminpb.Field, error) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if err := s.injected("GetField"); err != nil {
		return nil, err
	}
	if err := fieldName(req.Name); err != nil {
		return nil, err
	}
	f, ok := a.fields[req.Name]
	if !ok {
		return &adminpb.Field{Name: req.Name, IndexConfig: &adminpb.Field_IndexConfig{UsesAncestorConfig: true,
			AncestorField: req.Name[:strings.LastIndex(req.Name, "/")+1] + "__default__"}}, nil
	}
	out := proto.Clone(f).(*adminpb.Field)
	if f.TtlConfig != nil && f.TtlConfig.State == adminpb.Field_TtlConfig_CREATING {
		f.TtlConfig.State = adminpb.Field_TtlConfig_ACTIVE // active from the next read on
	}
	return out, nil
}

func (a *firestoreAdmin) UpdateField(_ context.Context, req *adminpb.UpdateFieldRequest) (*longrunningpb.Operation, error) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.injected("UpdateField"); err != nil {
		return nil, err
	}
	name := req.GetField().GetName()
	if err := fieldName(name); err != nil {
		return nil, err
	}
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, status.Error(codes.InvalidArgument, "update_mask is required")
	}
	f, ok := a.fields[name]
	if !ok {
		f = &adminpb.Field{Name: name, IndexConfig: &adminpb.Field_IndexConfig{UsesAncestorConfig: true}}
		a.fields[name] = f
	}
	for _, p := range paths {
		switch p {
		case "ttl_config":
			if req.Field.TtlConfig == nil {
				f.TtlConfig = nil
			} else {
				f.TtlConfig = &adminpb.Field_TtlConfig{State: adminpb.Field_TtlConfig_CREATING}
			}
		case "index_config":
			f.IndexConfig = proto.Clone(req.Field.GetIndexConfig()).(*adminpb.Field_IndexConfig)
		default:
			return nil, status.Errorf(codes.InvalidArgument, "Invalid field path %q in update_mask", p)
		}
	}
	s.record(Call{Method: "UpdateField", Resource: name, Mask: paths})
	s.nextID++
	md, _ := anypb.New(&adminpb.FieldOperationMetadata{StartTime: timestamppb.Now(), Field: name, State: adminpb.OperationState_PROCESSING})
	op := &longrunningpb.Operation{Name: fmt.Sprintf("%s/operations/field-%d", name[:strings.Index(name, "/collectionGroups/")], s.nextID), Metadata: md}
	return op, nil
}

// FirestoreField is the fake's configuration of a Firestore field (full
// name), and whether it was ever configured.
func (s *Server) FirestoreField(name string) (*adminpb.Field, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.fsAdmin.fields[name]
	if !ok {
		return nil, false
	}
	return proto.Clone(f).(*adminpb.Field), true
}
