package gcptest

import (
	"context"
	"fmt"
	"hash/crc32"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/iam/apiv1/iampb"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// secretManager is the Secret Manager part of the fake
// (google.cloud.secretmanager.v1.SecretManagerService): secrets with
// labels and annotations, numbered versions holding payloads, and each
// secret's IAM policy. A function (gcptest's Cloud Functions) whose
// secret_environment_variables name a secret its service account may not
// read fails to deploy, as Cloud Run's revision does; invoking it hands
// the Invoke hook the values in the function's environment, as the
// platform does when an instance starts.
type secretManager struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer
	s *Server
	// secrets by full name (projects/P/secrets/ID); s.mu guards them.
	secrets map[string]*secret
}

type secret struct {
	meta     *secretmanagerpb.Secret
	versions [][]byte // payloads, version n at n-1
	policy   *iampb.Policy
}

// SecretAccessor is the role a function's service account needs on a
// secret its environment references.
const SecretAccessor = "roles/secretmanager.secretAccessor"

var reSecretID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

func (m *secretManager) get(name string) (*secret, error) {
	sec, ok := m.secrets[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", name)
	}
	return sec, nil
}

func (m *secretManager) CreateSecret(_ context.Context, req *secretmanagerpb.CreateSecretRequest) (*secretmanagerpb.Secret, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if err := m.s.injected("CreateSecret"); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(req.Parent, "projects/") || strings.Count(req.Parent, "/") != 1 {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not projects/*", req.Parent)
	}
	if !reSecretID.MatchString(req.SecretId) {
		return nil, status.Errorf(codes.InvalidArgument, "Secret ID %q must match [a-zA-Z_0-9-]{1,255}", req.SecretId)
	}
	if req.GetSecret().GetReplication() == nil {
		return nil, status.Error(codes.InvalidArgument, "Secret.replication is required")
	}
	name := req.Parent + "/secrets/" + req.SecretId
	if _, ok := m.secrets[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Secret [%s] already exists.", name)
	}
	meta := proto.Clone(req.Secret).(*secretmanagerpb.Secret)
	meta.Name, meta.CreateTime = name, timestamppb.Now()
	m.s.nextID++
	meta.Etag = fmt.Sprintf(`"%d"`, m.s.nextID)
	if m.secrets == nil {
		m.secrets = map[string]*secret{}
	}
	m.secrets[name] = &secret{meta: meta}
	m.s.record(Call{Method: "CreateSecret", Resource: name})
	return proto.Clone(meta).(*secretmanagerpb.Secret), nil
}

func (m *secretManager) GetSecret(_ context.Context, req *secretmanagerpb.GetSecretRequest) (*secretmanagerpb.Secret, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	m.s.reads++
	if err := m.s.injected("GetSecret"); err != nil {
		return nil, err
	}
	sec, err := m.get(req.Name)
	if err != nil {
		return nil, err
	}
	return proto.Clone(sec.meta).(*secretmanagerpb.Secret), nil
}

// UpdateSecret applies the labels and annotations of the mask (the
// fields the fake changes).
func (m *secretManager) UpdateSecret(_ context.Context, req *secretmanagerpb.UpdateSecretRequest) (*secretmanagerpb.Secret, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if err := m.s.injected("UpdateSecret"); err != nil {
		return nil, err
	}
	sec, err := m.get(req.GetSecret().GetName())
	if err != nil {
		return nil, err
	}
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, status.Error(codes.InvalidArgument, "update_mask is required")
	}
	for _, p := range paths {
		switch p {
		case "labels":
			sec.meta.Labels = req.Secret.Labels
		case "annotations":
			sec.meta.Annotations = req.Secret.Annotations
		default:
			return nil, status.Errorf(codes.InvalidArgument, "update_mask path %q is not supported by the fake", p)
		}
	}
	m.s.nextID++
	sec.meta.Etag = fmt.Sprintf(`"%d"`, m.s.nextID)
	m.s.record(Call{Method: "UpdateSecret", Resource: sec.meta.Name, Mask: paths})
	return proto.Clone(sec.meta).(*secretmanagerpb.Secret), nil
}

func (m *secretManager) DeleteSecret(_ context.Context, req *secretmanagerpb.DeleteSecretRequest) (*emptypb.Empty, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if err := m.s.injected("DeleteSecret"); err != nil {
		return nil, err
	}
	if _, err := m.get(req.Name); err != nil {
		return nil, err
	}
	delete(m.secrets, req.Name)
	m.s.record(Call{Method: "DeleteSecret", Resource: req.Name})
	return &emptypb.Empty{}, nil
}

// AddSecretVersion stores a payload as the next version (64 KiB at most,
// its CRC32C checked when given).
func (m *secretManager) AddSecretVersion(_ context.Context, req *secretmanagerpb.AddSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if err := m.s.injected("AddSecretVersion"); err != nil {
		return nil, err
	}
	sec, err := m.get(req.Parent)
	if err != nil {
		return nil, err
	}
	data := req.GetPayload().GetData()
	if len(data) > 64<<10 {
		return nil, status.Error(codes.InvalidArgument, "Secret Payload cannot be larger than 64KiB.")
	}
	if c := req.GetPayload().DataCrc32C; c != nil && uint32(*c) != crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)) {
		return nil, status.Error(codes.InvalidArgument, "Checksum mismatch.")
	}
	sec.versions = append(sec.versions, slices.Clone(data))
	name := fmt.Sprintf("%s/versions/%d", req.Parent, len(sec.versions))
	m.s.record(Call{Method: "AddSecretVersion", Resource: name})
	return &secretmanagerpb.SecretVersion{Name: name, CreateTime: timestamppb.Now(), State: secretmanagerpb.SecretVersion_ENABLED}, nil
}

// version is the payload of name's version v ("latest" or a number).
func (m *secretManager) version(name, v string) ([]byte, error) {
	sec, err := m.get(name)
	if err != nil {
		return nil, err
	}
	n := len(sec.versions)
	if v != "latest" {
		if n, err = strconv.Atoi(v); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "version %q is not a number or latest", v)
		}
	}
	if n < 1 || n > len(sec.versions) {
		return nil, status.Errorf(codes.NotFound, "Secret Version [%s/versions/%s] not found.", name, v)
	}
	return sec.versions[n-1], nil
}

func (m *secretManager) AccessSecretVersion(_ context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	m.s.reads++
	if err := m.s.injected("AccessSecretVersion"); err != nil {
		return nil, err
	}
	name, v, ok := strings.Cut(req.Name, "/versions/")
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "%q is not projects/*/secrets/*/versions/*", req.Name)
	}
	data, err := m.version(name, v)
	if err != nil {
		return nil, err
	}
	return &secretmanagerpb.AccessSecretVersionResponse{Name: req.Name, Payload: &secretmanagerpb.SecretPayload{Data: slices.Clone(data)}}, nil
}

func (m *secretManager) GetIamPolicy(_ context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	m.s.reads++
	if err := m.s.injected("GetSecretIamPolicy"); err != nil {
		return nil, err
	}
	sec, err := m.get(req.Resource)
	if err != nil {
		return nil, err
	}
	if sec.policy == nil {
		sec.policy = &iampb.Policy{Version: 1, Etag: []byte("BwYAAAAAAAE=")}
	}
	return proto.Clone(sec.policy).(*iampb.Policy), nil
}

// SetIamPolicy replaces the secret's policy; a stale etag is Aborted.
func (m *secretManager) SetIamPolicy(_ context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if err := m.s.injected("SetSecretIamPolicy"); err != nil {
		return nil, err
	}
	sec, err := m.get(req.Resource)
	if err != nil {
		return nil, err
	}
	if sec.policy != nil && len(req.GetPolicy().GetEtag()) > 0 && string(req.Policy.Etag) != string(sec.policy.Etag) {
		return nil, status.Error(codes.Aborted, "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.")
	}
	for _, b := range req.GetPolicy().GetBindings() {
		if !strings.HasPrefix(b.Role, "roles/") {
			return nil, status.Errorf(codes.InvalidArgument, "Role %s is not supported for this resource.", b.Role)
		}
		for _, mem := range b.Members {
			if !strings.Contains(mem, ":") {
				return nil, status.Errorf(codes.InvalidArgument, "Invalid member %q: the form is serviceAccount:EMAIL, user:EMAIL, ...", mem)
			}
		}
	}
	p := proto.Clone(req.Policy).(*iampb.Policy)
	m.s.nextID++
	p.Etag = []byte(fmt.Sprintf("BwYAAAAA%04d=", m.s.nextID))
	sec.policy = p
	m.s.record(Call{Method: "SetSecretIamPolicy", Resource: req.Resource})
	return proto.Clone(p).(*iampb.Policy), nil
}

// mayAccess reports whether member holds the accessor role (or owner) on
// the secret (s.mu held).
func (m *secretManager) mayAccess(name, member string) bool {
	sec := m.secrets[name]
	if sec == nil || sec.policy == nil {
		return false
	}
	for _, b := range sec.policy.Bindings {
		if (b.Role == SecretAccessor || b.Role == "roles/secretmanager.admin" || b.Role == "roles/owner") && slices.Contains(b.Members, member) {
			return true
		}
	}
	return false
}

// resolve returns fn's secret environment variables' values, or the error
// Cloud Run's revision fails with: a secret or version that does not
// exist, or one the function's service account may not read (s.mu held).
func (m *secretManager) resolve(fn *functionspb.Function) (map[string]string, error) {
	sc := fn.GetServiceConfig()
	out := map[string]string{}
	for _, sv := range sc.GetSecretEnvironmentVariables() {
		name := "projects/" + sv.ProjectId + "/secrets/" + sv.Secret
		v := sv.Version
		if v == "" {
			v = "latest"
		}
		data, err := m.version(name, v)
		if err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "Could not create or update Cloud Run service %s: secret environment variable %s: %v",
				lastSegment(fn.Name), sv.Key, status.Convert(err).Message())
		}
		if sa := sc.GetServiceAccountEmail(); !m.mayAccess(name, "serviceAccount:"+sa) {
			return nil, status.Errorf(codes.FailedPrecondition, "Could not create or update Cloud Run service %s: Permission denied on secret: %s/versions/%s for Revision service account %s. The service account used must be granted the 'Secret Manager Secret Accessor' role (%s) at the secret, project or higher level.",
				lastSegment(fn.Name), name, v, sa, SecretAccessor)
		}
		out[sv.Key] = string(data)
	}
	return out, nil
}

// Secret returns the payload of a secret's version ("latest" or a number)
// and the secret's labels and annotations, for tests.
func (s *Server) Secret(name, version string) (value string, meta *secretmanagerpb.Secret, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := s.sm.version(name, version)
	if err != nil {
		return "", nil, false
	}
	return string(data), proto.Clone(s.sm.secrets[name].meta).(*secretmanagerpb.Secret), true
}

// Secrets lists the secrets' full names, sorted.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.sm.secrets {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
