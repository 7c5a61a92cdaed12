package awstest

import (
	"fmt"
	"maps"
	"slices"
)

// FunctionState is a snapshot of a Lambda function.
type FunctionState struct {
	Name, ARN        string
	Runtime, Handler string
	Role             string
	Description      string
	MemorySize       int32
	Timeout          int32
	Architectures    []string
	Environment      map[string]string // nil when none
	CodeSha256       string
	CodeSize         int64
	Code             []byte
	RevisionID       string
	State            string // Pending, Active
	LastUpdateStatus string // InProgress, Successful, Failed
	Tags             map[string]string
	Versions         []FunctionVersion // published, oldest first
	Aliases          map[string]AliasState
	Policy           []PolicyStatement // every qualifier's statements
	// ReservedConcurrency is nil when none is set.
	ReservedConcurrency *int32
	Invocations         []Invocation
}

// FunctionVersion is a published version.
type FunctionVersion struct {
	Version     string
	CodeSha256  string
	MemorySize  int32
	Timeout     int32
	Handler     string
	Runtime     string
	Description string
	Environment map[string]string
}

// AliasState is an alias of a function.
type AliasState struct {
	Version     string
	Description string
	Weights     map[string]float64 // AdditionalVersionWeights; nil when none
}

func envOf(c *fnConfig) map[string]string {
	if c.Environment == nil {
		return nil
	}
	return maps.Clone(c.Environment.Variables)
}

// Function returns a snapshot of a function by name.
func (s *Server) Function(name string) (FunctionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.functions[name]
	if f == nil {
		return FunctionState{}, false
	}
	c := &f.latest
	out := FunctionState{
		Name: c.FunctionName, ARN: c.FunctionArn, Runtime: c.Runtime, Handler: c.Handler, Role: c.Role,
		Description: c.Description, MemorySize: c.MemorySize, Timeout: c.Timeout,
		Architectures: slices.Clone(c.Architectures), Environment: envOf(c),
		CodeSha256: c.CodeSha256, CodeSize: c.CodeSize, Code: slices.Clone(f.code), RevisionID: c.RevisionId,
		State: c.State, LastUpdateStatus: c.LastUpdateStatus, Tags: copyTags(f.tags),
		Aliases: map[string]AliasState{}, Invocations: slices.Clone(f.invocations),
	}
	for _, v := range f.versions {
		out.Versions = append(out.Versions, FunctionVersion{Version: v.Version, CodeSha256: v.CodeSha256, MemorySize: v.MemorySize,
			Timeout: v.Timeout, Handler: v.Handler, Runtime: v.Runtime, Description: v.Description, Environment: envOf(v)})
	}
	for name, a := range f.aliases {
		out.Aliases[name] = AliasState{Version: a.FunctionVersion, Description: a.Description, Weights: maps.Clone(a.weights)}
	}
	for _, q := range sortedKeys(f.policies) {
		out.Policy = append(out.Policy, f.policies[q]...)
	}
	if f.reserved != nil {
		v := *f.reserved
		out.ReservedConcurrency = &v
	}
	return out, true
}

// FunctionNames lists the functions, sorted.
func (s *Server) FunctionNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.functions)
}

// FunctionSpec seeds a function that is already Active.
type FunctionSpec struct {
	Name          string
	Runtime       string // default nodejs22.x
	Handler       string // default index.handler
	Role          string // default arn:aws:iam::ACCOUNT:role/NAME-role
	MemorySize    int32  // default 128
	Timeout       int32  // default 3
	Architectures []string
	Environment   map[string]string
	Code          []byte // default "PK-awstest-" + Name
	Tags          map[string]string
	// Publish publishes version 1; Alias, when set, points an alias at it
	// (at $LATEST without Publish).
	Publish bool
	Alias   string
}

// SeedFunction creates a function directly (no call recorded), Active and
// Successful, replacing any function of that name.
func (s *Server) SeedFunction(spec FunctionSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	code := spec.Code
	if code == nil {
		code = []byte("PK-awstest-" + spec.Name)
	}
	c := fnConfig{
		FunctionName: spec.Name, FunctionArn: s.functionArn(spec.Name), Version: "$LATEST",
		Runtime: def(spec.Runtime, "nodejs22.x"), Handler: def(spec.Handler, "index.handler"),
		Role:       def(spec.Role, fmt.Sprintf("arn:aws:iam::%s:role/%s-role", s.account, spec.Name)),
		MemorySize: max(spec.MemorySize, 128), Timeout: max(spec.Timeout, 3), PackageType: "Zip",
		Architectures: slices.Clone(spec.Architectures), TracingConfig: map[string]string{"Mode": "PassThrough"},
		EphemeralStorage: map[string]int32{"Size": 512},
		LoggingConfig:    map[string]string{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + spec.Name},
		SnapStart:        map[string]string{"ApplyOn": "None", "OptimizationStatus": "Off"},
		State:            "Active", LastUpdateStatus: "Successful",
		CodeSha256: codeSha(code), CodeSize: int64(len(code)), RevisionId: s.newRevision(),
		LastModified: lambdaTime(s.requestTime()),
	}
	if len(c.Architectures) == 0 {
		c.Architectures = []string{"x86_64"}
	}
	if len(spec.Environment) > 0 {
		c.Environment = &envBlock{Variables: maps.Clone(spec.Environment)}
	}
	f := &function{latest: c, code: code, tags: copyTags(spec.Tags), codes: map[string][]byte{}, aliases: map[string]*alias{},
		policies: map[string][]PolicyStatement{}, policyID: map[string]string{}, dirty: true, cold: true}
	s.functions[spec.Name] = f
	target := "$LATEST"
	if spec.Publish {
		target = s.publish(f, "").Version
	}
	if spec.Alias != "" {
		f.aliases[spec.Alias] = &alias{Name: spec.Alias, AliasArn: s.aliasArn(spec.Name, spec.Alias), FunctionVersion: target, RevisionId: s.newRevision()}
	}
}

// FailUpdate makes the next settle of the function's update (or creation)
// end with LastUpdateStatus Failed and this reason.
func (s *Server) FailUpdate(name, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.functions[name]; f != nil {
		f.failReason = reason
	}
}

// RoleState is a snapshot of an IAM role.
type RoleState struct {
	Name, ARN, Path  string
	AssumeRolePolicy string            // the document as given (not URL-encoded)
	Description      string            //
	Tags             map[string]string //
	Inline           map[string]string // policy name -> document
	Attached         []string          // managed policy ARNs, in attach order
}

// Role returns a snapshot of a role by name.
func (s *Server) Role(name string) (RoleState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.roles[name]
	if r == nil {
		return RoleState{}, false
	}
	return RoleState{Name: r.name, ARN: r.arn, Path: r.path, AssumeRolePolicy: r.assumePolicy, Description: r.description,
		Tags: tagMap(r.tags), Inline: maps.Clone(r.inline), Attached: slices.Clone(r.attached)}, true
}

// RoleNames lists the roles, sorted.
func (s *Server) RoleNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.roles)
}

// RoleSpec seeds a role.
type RoleSpec struct {
	Name             string
	Path             string // default "/"
	AssumeRolePolicy string // default: lambda.amazonaws.com may assume it
	Tags             map[string]string
	Inline           map[string]string // policy name -> document
	Attached         []string          // managed policy ARNs
}

// LambdaTrustPolicy lets Lambda assume a role.
const LambdaTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// SeedRole creates a role directly (no call recorded), replacing any role of that name.
func (s *Server) SeedRole(spec RoleSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := spec.Path
	if path == "" {
		path = "/"
	}
	doc := spec.AssumeRolePolicy
	if doc == "" {
		doc = LambdaTrustPolicy
	}
	s.seq++
	r := &role{name: spec.Name, path: path, arn: fmt.Sprintf("arn:aws:iam::%s:role%s%s", s.account, path, spec.Name),
		id: fmt.Sprintf("AROA%016X", s.seq), assumePolicy: doc, maxSession: 3600, created: s.requestTime(),
		inline: maps.Clone(spec.Inline), attached: slices.Clone(spec.Attached)}
	if r.inline == nil {
		r.inline = map[string]string{}
	}
	r.inlineOrder = sortedKeys(r.inline)
	for _, k := range sortedKeys(spec.Tags) {
		r.tags = append(r.tags, Tag{Key: k, Value: spec.Tags[k]})
	}
	s.roles[spec.Name] = r
}
