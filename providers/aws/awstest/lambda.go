package awstest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultDirectUploadLimit is the largest zip CreateFunction and
// UpdateFunctionCode accept inline (ZipFile); bigger artifacts must come
// from S3. Lambda's real limit is on the request (70167211 bytes of base64
// JSON), about 50 MB of zip.
const DefaultDirectUploadLimit = 50 * 1024 * 1024

// WithDirectUploadLimit sets the largest inline zip in bytes (see
// DefaultDirectUploadLimit), so tests can exercise the S3 path with small
// artifacts. A bigger ZipFile is refused with 413 RequestTooLargeException.
func WithDirectUploadLimit(n int) Option { return func(s *Server) { s.uploadLimit = n } }

// InvokeFunc computes an Invoke result from the function name and the
// payload. Returning an error makes it a function error (X-Amz-Function-Error:
// Unhandled); a *FunctionError sets the errorType.
type InvokeFunc func(function string, payload []byte) ([]byte, error)

// FunctionError is a function error with a type, as runtimes report them.
type FunctionError struct {
	Type    string // errorType, e.g. "TypeError"
	Message string // errorMessage
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// SetInvoke replaces the function that computes Invoke results (nil: echo the payload).
func (s *Server) SetInvoke(f InvokeFunc) { s.mu.Lock(); defer s.mu.Unlock(); s.invoke = f }

// fnConfig is Lambda's FunctionConfiguration as it goes over the wire.
type fnConfig struct {
	FunctionName               string            `json:"FunctionName"`
	FunctionArn                string            `json:"FunctionArn"`
	Runtime                    string            `json:"Runtime,omitempty"`
	Role                       string            `json:"Role"`
	Handler                    string            `json:"Handler,omitempty"`
	CodeSize                   int64             `json:"CodeSize"`
	Description                string            `json:"Description"`
	Timeout                    int32             `json:"Timeout"`
	MemorySize                 int32             `json:"MemorySize"`
	LastModified               string            `json:"LastModified"`
	CodeSha256                 string            `json:"CodeSha256"`
	Version                    string            `json:"Version"`
	Environment                *envBlock         `json:"Environment,omitempty"`
	TracingConfig              map[string]string `json:"TracingConfig"`
	RevisionId                 string            `json:"RevisionId"`
	State                      string            `json:"State,omitempty"`
	StateReason                string            `json:"StateReason,omitempty"`
	StateReasonCode            string            `json:"StateReasonCode,omitempty"`
	LastUpdateStatus           string            `json:"LastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string            `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string            `json:"LastUpdateStatusReasonCode,omitempty"`
	PackageType                string            `json:"PackageType"`
	Architectures              []string          `json:"Architectures"`
	EphemeralStorage           map[string]int32  `json:"EphemeralStorage"`
	LoggingConfig              map[string]string `json:"LoggingConfig"`
	SnapStart                  map[string]string `json:"SnapStart"`
}

type envBlock struct {
	Variables map[string]string `json:"Variables"`
}

type alias struct {
	Name            string             `json:"Name"`
	AliasArn        string             `json:"AliasArn"`
	FunctionVersion string             `json:"FunctionVersion"`
	Description     string             `json:"Description"`
	RevisionId      string             `json:"RevisionId"`
	RoutingConfig   *routingConfig     `json:"RoutingConfig,omitempty"`
	weights         map[string]float64 // copy for state inspection
}

type routingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
}

type function struct {
	latest   fnConfig
	code     []byte
	tags     map[string]string
	versions []*fnConfig
	codes    map[string][]byte // version -> code
	aliases  map[string]*alias
	policies map[string][]PolicyStatement // qualifier ("" unqualified) -> statements
	policyID map[string]string            // qualifier -> policy RevisionId
	reserved *int32
	// pendingReads counts the Get* reads left until a Pending or
	// InProgress state settles.
	pendingReads int
	failReason   string // the next settle ends Failed with this reason
	// dirty: $LATEST changed since the last published version.
	dirty       bool
	invocations []Invocation
	cold        bool
}

// Invocation is one Invoke the fake answered.
type Invocation struct {
	Function       string
	Qualifier      string // as requested ("" for none)
	Version        string // executed version
	InvocationType string
	Payload        []byte
}

// PolicyStatement is one AddPermission statement.
type PolicyStatement struct {
	Qualifier     string // "" for the unqualified function
	Sid           string
	Action        string
	Principal     string
	SourceArn     string
	SourceAccount string
}

func (s *Server) functionArn(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.region, s.account, name)
}

func (s *Server) newRevision() string {
	s.seq++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", s.seq*2654435761%0xffffffff, s.seq)
}

func lambdaTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

func codeSha(code []byte) string {
	sum := sha256.Sum256(code)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// splitFunctionRef turns a function name, partial ARN or ARN (each maybe
// with ":qualifier") into name and qualifier.
func splitFunctionRef(ref string) (name, qualifier string) {
	parts := strings.Split(ref, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[5] == "function":
		name = parts[6]
		if len(parts) > 7 {
			qualifier = parts[7]
		}
	case len(parts) >= 3 && parts[1] == "function":
		name = parts[2]
		if len(parts) > 3 {
			qualifier = parts[3]
		}
	default:
		name = parts[0]
		if len(parts) > 1 {
			qualifier = parts[1]
		}
	}
	return name, qualifier
}

type lambdaService struct{ s *Server }

func (l lambdaService) writeError(w http.ResponseWriter, action string, e *apiError, requestID string) {
	body := map[string]string{"Type": "User", "message": e.Message}
	if e.Status >= 500 {
		body["Type"] = "Service"
	}
	for k, v := range e.extra {
		body[k] = v
	}
	if e.Code == "TooManyRequestsException" {
		if _, ok := body["Reason"]; !ok {
			body["Reason"] = "CallerRateLimitExceeded"
		}
	}
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	w.Write(jsonBody(body))
}

func lambdaJSON(status int, v any) (reply, *apiError) {
	return reply{status: status, contentType: "application/json", body: jsonBody(v)}, nil
}

func lambdaEmpty(status int) (reply, *apiError) { return reply{status: status}, nil }

func badRequest(format string, args ...any) *apiError {
	return errf(400, "InvalidParameterValueException", format, args...)
}

func (l lambdaService) parse(r *http.Request, body []byte) (op, *apiError) {
	seg := pathSegments(r)
	q := r.URL.Query()
	m := r.Method
	var in map[string]json.RawMessage
	if len(body) > 0 && strings.Contains(r.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(body, &in); err != nil {
			return op{action: "Unknown"}, errf(400, "InvalidRequestContentException", "Could not parse request body into json: %v", err)
		}
	}
	unknown := errf(404, "UnknownOperationException", "Unknown operation %s %s", m, r.URL.Path)
	if len(seg) < 2 {
		return op{}, unknown
	}
	if seg[0] == "2017-03-31" && seg[1] == "tags" && len(seg) == 3 {
		arn := seg[2]
		name, _ := splitFunctionRef(arn)
		switch m {
		case http.MethodGet:
			return op{"ListTags", name, func() (reply, *apiError) { return l.listTags(arn) }}, nil
		case http.MethodPost:
			return op{"TagResource", name, func() (reply, *apiError) { return l.tagResource(arn, in) }}, nil
		case http.MethodDelete:
			return op{"UntagResource", name, func() (reply, *apiError) { return l.untagResource(arn, q["tagKeys"]) }}, nil
		}
		return op{}, unknown
	}
	if seg[1] != "functions" {
		return op{}, unknown
	}
	if len(seg) == 2 {
		switch m {
		case http.MethodPost:
			var name string
			_ = json.Unmarshal(in["FunctionName"], &name)
			name, _ = splitFunctionRef(name)
			return op{"CreateFunction", name, func() (reply, *apiError) { return l.createFunction(in) }}, nil
		case http.MethodGet:
			return op{"ListFunctions", "", func() (reply, *apiError) {
				return l.listFunctions(q.Get("Marker"), q.Get("MaxItems"), q.Get("FunctionVersion"))
			}}, nil
		}
		return op{}, unknown
	}
	name, qual := splitFunctionRef(seg[2])
	if v := q.Get("Qualifier"); v != "" {
		qual = v
	}
	sub := ""
	if len(seg) > 3 {
		sub = seg[3]
	}
	switch seg[0] + " " + m + " " + sub {
	case "2015-03-31 GET ":
		return op{"GetFunction", name, func() (reply, *apiError) { return l.getFunction(name, qual, true) }}, nil
	case "2015-03-31 GET configuration":
		return op{"GetFunctionConfiguration", name, func() (reply, *apiError) { return l.getFunction(name, qual, false) }}, nil
	case "2015-03-31 DELETE ":
		return op{"DeleteFunction", name, func() (reply, *apiError) { return l.deleteFunction(name, qual) }}, nil
	case "2015-03-31 PUT configuration":
		return op{"UpdateFunctionConfiguration", name, func() (reply, *apiError) { return l.updateConfiguration(name, in) }}, nil
	case "2015-03-31 PUT code":
		return op{"UpdateFunctionCode", name, func() (reply, *apiError) { return l.updateCode(name, in) }}, nil
	case "2015-03-31 POST versions":
		return op{"PublishVersion", name, func() (reply, *apiError) { return l.publishVersion(name, in) }}, nil
	case "2015-03-31 GET versions":
		return op{"ListVersionsByFunction", name, func() (reply, *apiError) { return l.listVersions(name, q.Get("Marker"), q.Get("MaxItems")) }}, nil
	case "2015-03-31 POST aliases":
		return op{"CreateAlias", name, func() (reply, *apiError) { return l.createAlias(name, in) }}, nil
	case "2015-03-31 GET aliases":
		if len(seg) == 5 {
			return op{"GetAlias", name, func() (reply, *apiError) { return l.getAlias(name, seg[4]) }}, nil
		}
		return op{"ListAliases", name, func() (reply, *apiError) {
			return l.listAliases(name, q.Get("FunctionVersion"), q.Get("Marker"), q.Get("MaxItems"))
		}}, nil
	case "2015-03-31 PUT aliases":
		if len(seg) == 5 {
			return op{"UpdateAlias", name, func() (reply, *apiError) { return l.updateAlias(name, seg[4], in) }}, nil
		}
	case "2015-03-31 DELETE aliases":
		if len(seg) == 5 {
			return op{"DeleteAlias", name, func() (reply, *apiError) { return l.deleteAlias(name, seg[4]) }}, nil
		}
	case "2015-03-31 POST policy":
		return op{"AddPermission", name, func() (reply, *apiError) { return l.addPermission(name, qual, in) }}, nil
	case "2015-03-31 GET policy":
		return op{"GetPolicy", name, func() (reply, *apiError) { return l.getPolicy(name, qual) }}, nil
	case "2015-03-31 DELETE policy":
		if len(seg) == 5 {
			return op{"RemovePermission", name, func() (reply, *apiError) { return l.removePermission(name, qual, seg[4], q.Get("RevisionId")) }}, nil
		}
	case "2015-03-31 POST invocations":
		return op{"Invoke", name, func() (reply, *apiError) { return l.invoke(r, name, qual, body) }}, nil
	case "2017-10-31 PUT concurrency":
		return op{"PutFunctionConcurrency", name, func() (reply, *apiError) { return l.putConcurrency(name, in) }}, nil
	case "2017-10-31 DELETE concurrency":
		return op{"DeleteFunctionConcurrency", name, func() (reply, *apiError) { return l.deleteConcurrency(name) }}, nil
	case "2019-09-30 GET concurrency":
		return op{"GetFunctionConcurrency", name, func() (reply, *apiError) { return l.getConcurrency(name) }}, nil
	}
	return op{}, unknown
}

func (l lambdaService) notFound(name string) *apiError {
	return errf(404, "ResourceNotFoundException", "Function not found: %s", l.s.functionArn(name))
}

func (l lambdaService) fn(name string) (*function, *apiError) {
	f := l.s.functions[name]
	if f == nil {
		return nil, l.notFound(name)
	}
	return f, nil
}

// version resolves a qualifier ("" and $LATEST, a version number, an alias)
// to a configuration.
func (l lambdaService) version(f *function, qual string) (*fnConfig, *apiError) {
	switch {
	case qual == "" || qual == "$LATEST":
		return &f.latest, nil
	case isVersion(qual):
		for _, v := range f.versions {
			if v.Version == qual {
				return v, nil
			}
		}
	default:
		if a := f.aliases[qual]; a != nil {
			return l.version(f, a.FunctionVersion)
		}
	}
	return nil, errf(404, "ResourceNotFoundException", "Function not found: %s:%s", f.latest.FunctionArn, qual)
}

func isVersion(q string) bool {
	_, err := strconv.Atoi(q)
	return err == nil
}

// busy refuses a change while the function is Pending or an update is in
// progress, as Lambda does.
func (l lambdaService) busy(f *function) *apiError {
	if f.latest.State == "Pending" {
		return errf(409, "ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: Pending")
	}
	if f.latest.LastUpdateStatus == "InProgress" {
		return errf(409, "ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource: %s", f.latest.FunctionArn)
	}
	return nil
}

// read counts one Get* read toward settling.
func (s *Server) read(f *function) {
	if f.latest.State != "Pending" && f.latest.LastUpdateStatus != "InProgress" {
		return
	}
	if f.pendingReads > 0 {
		f.pendingReads--
	}
	if f.pendingReads == 0 {
		s.settle(f)
	}
}

func (s *Server) settle(f *function) {
	c := &f.latest
	if c.State == "Pending" {
		c.State, c.StateReason, c.StateReasonCode = "Active", "", ""
	}
	if c.LastUpdateStatus == "InProgress" {
		c.LastUpdateStatus = "Successful"
		if f.failReason != "" {
			c.LastUpdateStatus, c.LastUpdateStatusReason, c.LastUpdateStatusReasonCode = "Failed", f.failReason, "InternalError"
			f.failReason = ""
		}
	}
}

func (s *Server) startUpdate(f *function) {
	f.latest.LastUpdateStatus = "InProgress"
	f.latest.LastUpdateStatusReason, f.latest.LastUpdateStatusReasonCode = "", ""
	f.latest.RevisionId = s.newRevision()
	f.latest.LastModified = lambdaTime(s.requestTime())
	f.pendingReads = s.settleReads
	f.dirty = true
	if s.settleReads == 0 {
		s.settle(f)
	}
}

func str(in map[string]json.RawMessage, k string) (string, bool) {
	raw, ok := in[k]
	if !ok {
		return "", false
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	return v, true
}

func num(in map[string]json.RawMessage, k string) (int64, bool) {
	raw, ok := in[k]
	if !ok {
		return 0, false
	}
	var v int64
	if json.Unmarshal(raw, &v) != nil {
		return 0, false
	}
	return v, true
}

// code reads the code of a CreateFunction's Code or an UpdateFunctionCode:
// ZipFile inline or S3Bucket/S3Key from the fake's S3.
func (l lambdaService) code(in map[string]json.RawMessage, operation string) ([]byte, *apiError) {
	zip, hasZip := str(in, "ZipFile")
	b, hasBucket := str(in, "S3Bucket")
	k, _ := str(in, "S3Key")
	switch {
	case hasZip:
		data, err := base64.StdEncoding.DecodeString(zip)
		if err != nil {
			return nil, errf(400, "InvalidRequestContentException", "Could not parse request body into json: ZipFile is not valid base64")
		}
		limit := l.s.uploadLimit
		if limit == 0 {
			limit = DefaultDirectUploadLimit
		}
		if len(data) > limit {
			return nil, errf(413, "RequestTooLargeException", "Request must be smaller than %d bytes for the %s operation", limit, operation)
		}
		if len(data) == 0 {
			return nil, badRequest("Uploaded file must be a non-empty zip")
		}
		return data, nil
	case hasBucket:
		bk := l.s.buckets[b]
		if bk == nil {
			return nil, badRequest("Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
		}
		obj := bk.objects[k]
		if obj == nil {
			return nil, badRequest("Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.")
		}
		return obj.data, nil
	}
	if _, ok := str(in, "ImageUri"); ok {
		return nil, badRequest("awstest: container images are not supported; use ZipFile or S3Bucket/S3Key")
	}
	return nil, badRequest("Please provide a source for function code.")
}

func (l lambdaService) checkRole(role string) *apiError {
	if role == "" {
		return badRequest("1 validation error detected: Value null at 'role' failed to satisfy constraint: Member must not be null")
	}
	if !strings.HasPrefix(role, "arn:aws:iam::") || !strings.Contains(role, ":role/") {
		return errf(400, "ValidationException", "1 validation error detected: Value '%s' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+", role)
	}
	if l.s.roleCheck && strings.HasPrefix(role, "arn:aws:iam::"+l.s.account+":") {
		name := role[strings.LastIndex(role, "/")+1:]
		if l.s.roles[name] == nil {
			return badRequest("The role defined for the function cannot be assumed by Lambda.")
		}
	}
	return nil
}

func (l lambdaService) createFunction(in map[string]json.RawMessage) (reply, *apiError) {
	s := l.s
	ref, _ := str(in, "FunctionName")
	name, _ := splitFunctionRef(ref)
	if name == "" {
		return reply{}, badRequest("1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null")
	}
	if s.functions[name] != nil {
		return reply{}, errf(409, "ResourceConflictException", "Function already exist: %s", name)
	}
	role, _ := str(in, "Role")
	if e := l.checkRole(role); e != nil {
		return reply{}, e
	}
	var codeIn map[string]json.RawMessage
	_ = json.Unmarshal(in["Code"], &codeIn)
	code, e := l.code(codeIn, "CreateFunction")
	if e != nil {
		return reply{}, e
	}
	c := fnConfig{
		FunctionName: name, FunctionArn: s.functionArn(name), Role: role, Version: "$LATEST",
		Timeout: 3, MemorySize: 128, PackageType: "Zip", Architectures: []string{"x86_64"},
		TracingConfig:    map[string]string{"Mode": "PassThrough"},
		EphemeralStorage: map[string]int32{"Size": 512},
		LoggingConfig:    map[string]string{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + name},
		SnapStart:        map[string]string{"ApplyOn": "None", "OptimizationStatus": "Off"},
		State:            "Pending", StateReason: "The function is being created.", StateReasonCode: "Creating",
		// Waiting on LastUpdateStatus covers the creation too.
		LastUpdateStatus: "InProgress",
	}
	if e := applyConfig(&c, in); e != nil {
		return reply{}, e
	}
	if raw, ok := in["Architectures"]; ok {
		var a []string
		_ = json.Unmarshal(raw, &a)
		if len(a) > 0 {
			c.Architectures = a
		}
	}
	if pt, ok := str(in, "PackageType"); ok && pt != "Zip" {
		return reply{}, badRequest("awstest: PackageType %s is not supported", pt)
	}
	c.CodeSha256, c.CodeSize = codeSha(code), int64(len(code))
	c.RevisionId = s.newRevision()
	c.LastModified = lambdaTime(s.requestTime())
	f := &function{latest: c, code: code, codes: map[string][]byte{}, aliases: map[string]*alias{},
		policies: map[string][]PolicyStatement{}, policyID: map[string]string{}, dirty: true, cold: true,
		pendingReads: s.settleReads}
	_ = json.Unmarshal(in["Tags"], &f.tags)
	if f.tags == nil {
		f.tags = map[string]string{}
	}
	s.functions[name] = f
	if s.settleReads == 0 {
		s.settle(f)
	}
	out := f.latest
	if publish := string(in["Publish"]) == "true"; publish {
		v := s.publish(f, "")
		out = *v
		out.State, out.LastUpdateStatus = f.latest.State, f.latest.LastUpdateStatus
	}
	return lambdaJSON(201, out)
}

// applyConfig copies the configuration fields present in a CreateFunction or
// UpdateFunctionConfiguration request.
func applyConfig(c *fnConfig, in map[string]json.RawMessage) *apiError {
	if v, ok := str(in, "Runtime"); ok {
		c.Runtime = v
	}
	if v, ok := str(in, "Handler"); ok {
		c.Handler = v
	}
	if v, ok := str(in, "Role"); ok {
		c.Role = v
	}
	if v, ok := str(in, "Description"); ok {
		c.Description = v
	}
	if v, ok := num(in, "Timeout"); ok {
		if v < 1 || v > 900 {
			return badRequest("1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900", v)
		}
		c.Timeout = int32(v)
	}
	if v, ok := num(in, "MemorySize"); ok {
		if v < 128 || v > 10240 {
			return badRequest("'MemorySize' value failed to satisfy constraint: Member must have value greater than or equal to 128 and less than or equal to 10240")
		}
		c.MemorySize = int32(v)
	}
	if raw, ok := in["Environment"]; ok {
		var env struct{ Variables map[string]string }
		_ = json.Unmarshal(raw, &env)
		if len(env.Variables) == 0 {
			c.Environment = nil
		} else {
			c.Environment = &envBlock{Variables: env.Variables}
		}
	}
	if raw, ok := in["EphemeralStorage"]; ok {
		var es struct{ Size int32 }
		_ = json.Unmarshal(raw, &es)
		if es.Size > 0 {
			c.EphemeralStorage = map[string]int32{"Size": es.Size}
		}
	}
	if raw, ok := in["LoggingConfig"]; ok {
		var lc map[string]string
		_ = json.Unmarshal(raw, &lc)
		for k, v := range lc {
			c.LoggingConfig[k] = v
		}
	}
	if raw, ok := in["TracingConfig"]; ok {
		var tc map[string]string
		_ = json.Unmarshal(raw, &tc)
		if tc["Mode"] != "" {
			c.TracingConfig = map[string]string{"Mode": tc["Mode"]}
		}
	}
	return nil
}

func (l lambdaService) getFunction(name, qual string, full bool) (reply, *apiError) {
	f, e := l.fn(name)
	if e != nil {
		return reply{}, e
	}
	l.s.read(f)
	c, e := l.version(f, qual)
	if e != nil {
		return reply{}, e
	}
	if !full {
		return lambdaJSON(200, c)
	}
	out := map[string]any{
		"Configuration": c,
		"Code":          map[string]string{"RepositoryType": "S3", "Location": l.s.URL() + "/__awstest/code/" + name + "/" + c.Version},
		"Tags":          f.tags,
	}
	if f.reserved != nil {
		out["Concurrency"] = map[string]int32{"ReservedConcurrentExecutions": *f.reserved}
	}
	return lambdaJSON(200, out)
}

// listed strips what ListFunctions does not return (the state fields).
func listed(c fnConfig) fnConfig {
	c.State, c.StateReason, c.StateReasonCode = "", "", ""
	c.LastUpdateStatus, c.LastUpdateStatusReason, c.LastUpdateStatusReasonCode = "", "", ""
	return c
}

func maxItems(v string) int {
	n, _ := strconv.Atoi(v)
	return n
}

func (l lambdaService) listFunctions(marker, max, which string) (reply, *apiError) {
	var all []fnConfig
	var keys []string
	for _, name := range sortedKeys(l.s.functions) {
		f := l.s.functions[name]
		all = append(all, listed(f.latest))
		keys = append(keys, name+"\x00")
		if which == "ALL" {
			for _, v := range f.versions {
				all = append(all, listed(*v))
				keys = append(keys, fmt.Sprintf("%s\x00%010s", name, v.Version))
			}
		}
	}
	lo, hi, next, ok := paginate(len(all), func(i int) string { return keys[i] }, marker, maxItems(max), 50, 50)
	if !ok {
		return reply{}, badRequest("Invalid marker: %s", marker)
	}
	out := map[string]any{"Functions": append([]fnConfig{}, all[lo:hi]...)}
	if next != "" {
		out["NextMarker"] = next
	}
	return lambdaJSON(200, out)
}

func (l lambdaService) updateCode(name string, in map[string]json.RawMessage) (reply, *apiError) {
	f, e := l.updatable(name, in)
	if e != nil {
		return reply{}, e
	}
	code, e := l.code(in, "UpdateFunctionCode")
	if e != nil {
		return reply{}, e
	}
	if raw, ok := in["Architectures"]; ok {
		var a []string
		_ = json.Unmarshal(raw, &a)
		if len(a) > 0 {
			f.latest.Architectures = a
		}
	}
	if string(in["DryRun"]) == "true" {
		return lambdaJSON(200, f.latest)
	}
	f.code = code
	f.latest.CodeSha256, f.latest.CodeSize = codeSha(code), int64(len(code))
	l.s.startUpdate(f)
	out := f.latest
	if string(in["Publish"]) == "true" {
		v := l.s.publish(f, "")
		out = *v
		out.LastUpdateStatus = f.latest.LastUpdateStatus
	}
	return lambdaJSON(200, out)
}

// updatable returns the function an update may change now: it exists, no
// update is in progress, and the request's RevisionId (if any) is current.
func (l lambdaService) updatable(name string, in map[string]json.RawMessage) (*function, *apiError) {
	f, e := l.fn(name)
	if e != nil {
		return nil, e
	}
	if e := l.busy(f); e != nil {
		return nil, e
	}
	if e := l.revision(f.latest.RevisionId, in); e != nil {
		return nil, e
	}
	return f, nil
}

func (l lambdaService) revision(current string, in map[string]json.RawMessage) *apiError {
	if rev, ok := str(in, "RevisionId"); ok && rev != "" && rev != current {
		return errf(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	return nil
}

func (l lambdaService) updateConfiguration(name string, in map[string]json.RawMessage) (reply, *apiError) {
	f, e := l.updatable(name, in)
	if e != nil {
		return reply{}, e
	}
	if role, ok := str(in, "Role"); ok {
		if e := l.checkRole(role); e != nil {
			return reply{}, e
		}
	}
	c := f.latest
	c.LoggingConfig = maps.Clone(c.LoggingConfig)
	if e := applyConfig(&c, in); e != nil {
		return reply{}, e
	}
	f.latest = c
	l.s.startUpdate(f)
	return lambdaJSON(200, f.latest)
}

// publish snapshots $LATEST as a new version, or returns the latest version
// when nothing changed since it.
func (s *Server) publish(f *function, description string) *fnConfig {
	if !f.dirty && len(f.versions) > 0 {
		return f.versions[len(f.versions)-1]
	}
	v := f.latest
	n := 1
	if len(f.versions) > 0 {
		n, _ = strconv.Atoi(f.versions[len(f.versions)-1].Version)
		n++
	}
	v.Version = strconv.Itoa(n)
	v.FunctionArn = f.latest.FunctionArn + ":" + v.Version
	v.State, v.StateReason, v.StateReasonCode = "Active", "", ""
	v.LastUpdateStatus, v.LastUpdateStatusReason, v.LastUpdateStatusReasonCode = "Successful", "", ""
	v.RevisionId = s.newRevision()
	if description != "" {
		v.Description = description
	}
	v.LoggingConfig = maps.Clone(v.LoggingConfig)
	f.versions = append(f.versions, &v)
	f.codes[v.Version] = f.code
	f.dirty = false
	return &v
}

func (l lambdaService) publishVersion(name string, in map[string]json.RawMessage) (reply, *apiError) {
	f, e := l.fn(name)
	if e != nil {
		return reply{}, e
	}
	if e := l.busy(f); e != nil {
		return reply{}, e
	}
	if sha, ok := str(in, "CodeSha256"); ok && sha != "" && sha != f.latest.CodeSha256 {
		return reply{}, errf(412, "PreconditionFailedException", "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", sha, f.latest.CodeSha256)
	}
	if e := l.revision(f.latest.RevisionId, in); e != nil {
		return reply{}, e
	}
	desc, _ := str(in, "Description")
	return lambdaJSON(201, l.s.publish(f, desc))
}

func (l lambdaService) listVersions(name, marker, max string) (reply, *apiError) {
	f, e := l.fn(name)
	if e != nil {
		return reply{}, e
	}
	all := []fnConfig{listed(f.latest)}
	keys := []string{"          "}
	for _, v := range f.versions {
		all = append(all, listed(*v))
		keys = append(keys, fmt.Sprintf("%010s", v.Version))
	}
	lo, hi, next, ok := paginate(len(all), func(i int) string { return keys[i] }, marker, maxItems(max), 50, 50)
	if !ok {
		return reply{}, badRequest("Invalid marker: %s", marker)
	}
	out := map[string]any{"Versions": append([]fnConfig{}, all[lo:hi]...)}
	if next != "" {
		out["NextMarker"] = next
	}
	return lambdaJSON(200, out)
}

func (l lambdaService) deleteFunction(name, qual string) (reply, *apiError) {
	f, e := l.fn(name)
	if e != nil {
		return reply{}, e
	}
	if qual == "" {
		delete(l.s.functions, name)
		return lambdaEmpty(204)
	}
	if qual == "$LATEST" || !isVersion(qual) {
		return reply{}, badRequest("Deletion of aliases or $LATEST is not supported by DeleteFunction; use DeleteAlias or an unqualified function name")
	}
	i := slices.IndexFunc(f.versions, func(v *fnConfig) bool { return v.Version == qual })
	if i < 0 {
		return reply{}, errf(404, "ResourceNotFoundException", "Function not found: %s:%s", f.latest.FunctionArn, qual)
	}
	for _, a := range f.aliases {
		if a.FunctionVersion == qual || a.weights[qual] > 0 {
			return reply{}, errf(409, "ResourceConflictException", "Unable to delete version because the following aliases reference it: [%s]", a.Name)
		}
	}
	f.versions = slices.Delete(f.versions, i, i+1)
	delete(f.codes, qual)
	return lambdaEmpty(204)
}

func (s *Server) aliasArn(fn, name string) string { return s.functionArn(fn) + ":" + name }

func (l lambdaService) checkVersion(f *function, v string) *apiError {
	if v == "$LATEST" {
		return nil
	}
	for _, x := range f.versions {
		if x.Version == v {
			return nil
		}
	}
	return errf(404, "ResourceNotFoundException", "Function not found: %s:%s", f.latest.FunctionArn, v)
}

func (l lambdaService) aliasFields(f *function, a *alias, in map[string]json.RawMessage) *apiError {
	if v, ok := str(in, "FunctionVersion"); ok {
		if e := l.checkVersion(f, v); e != nil {
			return e
		}
		a.FunctionVersion = v
	}
	if v, ok := str(in, "Description"); ok {
		a.Description = v
	}
	if raw, ok := in["RoutingConfig"]; ok {
		var rc routingConfig
		_ = json.Unmarshal(raw, &rc)
		a.RoutingConfig, a.weights = nil, nil
		if len(rc.AdditionalVersionWeights) > 0 {
			for v := range rc.AdditionalVersionWeights {
				if e := l.checkVersion(f, v); e != nil {
					return e
				}
			}
			a.RoutingConfig, a.weights = &rc, maps.Clone(rc.AdditionalVersionWeights)
		}
	}
	return nil
}

func (l lambdaService) createAlias(fn string, in map[string]json.RawMessage) (reply, *apiError) {
	f, e := l.fn(fn)
	if e != nil {
		return reply{}, e
	}
	name, _ := str(in, "Name")
	if name == "" || isVersion(name) || name == "$LATEST" {
		return reply{}, badRequest("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)", name)
	}
	if f.aliases[name] != nil {
		return reply{}, errf(409, "ResourceConflictException", "Alias already exists: %s", l.s.aliasArn(fn, name))
	}
	if _, ok := str(in, "FunctionVersion"); !ok {
		return reply{}, badRequest("1 validation error detected: Value null at 'functionVersion' failed to satisfy constraint: Member must not be null")
	}
	a := &alias{Name: name, AliasArn: l.s.aliasArn(fn, name)}
	if e := l.aliasFields(f, a, in); e != nil {
		return reply{}, e
	}
	a.RevisionId = l.s.newRevision()
	f.aliases[name] = a
	return lambdaJSON(201, a)
}

func (l lambdaService) alias(fn, name string) (*function, *alias, *apiError) {
	f, e := l.fn(fn)
	if e != nil {
		return nil, nil, e
	}
	a := f.aliases[name]
	if a == nil {
		return nil, nil, errf(404, "ResourceNotFoundException", "Cannot find alias arn: %s", l.s.aliasArn(fn, name))
	}
	return f, a, nil
}

func (l lambdaService) getAlias(fn, name string) (reply, *apiError) {
	_, a, e := l.alias(fn, name)
	if e != nil {
		return reply{}, e
	}
	return lambdaJSON(200, a)
}

func (l lambdaService) updateAlias(fn, name string, in map[string]json.RawMessage) (reply, *apiError) {
	f, a, e := l.alias(fn, name)
	if e != nil {
		return reply{}, e
	}
	if rev, ok := str(in, "RevisionId"); ok && rev != "" && rev != a.RevisionId {
		return reply{}, errf(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	next := *a
	if e := l.aliasFields(f, &next, in); e != nil {
		return reply{}, e
	}
	next.RevisionId = l.s.newRevision()
	*a = next
	return lambdaJSON(200, a)
}

func (l lambdaService) deleteAlias(fn, name string) (reply, *apiError) {
	f, e := l.fn(fn)
	if e != nil {
		return reply{}, e
	}
	delete(f.aliases, name) // Lambda answers 204 for a missing alias too
	delete(f.policies, name)
	return lambdaEmpty(204)
}

func (l lambdaService) listAliases(fn, version, marker, max string) (reply, *apiError) {
	f, e := l.fn(fn)
	if e != nil {
		return reply{}, e
	}
	var all []*alias
	for _, name := range sortedKeys(f.aliases) {
		if a := f.aliases[name]; version == "" || a.FunctionVersion == version {
			all = append(all, a)
		}
	}
	lo, hi, next, ok := paginate(len(all), func(i int) string { return all[i].Name }, marker, maxItems(max), 50, 10000)
	if !ok {
		return reply{}, badRequest("Invalid marker: %s", marker)
	}
	out := map[string]any{"Aliases": append([]*alias{}, all[lo:hi]...)}
	if next != "" {
		out["NextMarker"] = next
	}
	return lambdaJSON(200, out)
}

func (l lambdaService) qualifiedArn(f *function, qual string) string {
	if qual == "" {
		return f.latest.FunctionArn
	}
	return f.latest.FunctionArn + ":" + qual
}

func (l lambdaService) statementJSON(f *function, st PolicyStatement) map[string]any {
	var principal any = st.Principal
	switch {
	case st.Principal == "*":
	case strings.HasSuffix(st.Principal, ".amazonaws.com"):
		principal = map[string]string{"Service": st.Principal}
	case isAccount(st.Principal):
		principal = map[string]string{"AWS": "arn:aws:iam::" + st.Principal + ":root"}
	default:
		principal = map[string]string{"AWS": st.Principal}
	}
	out := map[string]any{"Sid": st.Sid, "Effect": "Allow", "Principal": principal, "Action": st.Action, "Resource": l.qualifiedArn(f, st.Qualifier)}
	cond := map[string]any{}
	if st.SourceArn != "" {
		cond["ArnLike"] = map[string]string{"AWS:SourceArn": st.SourceArn}
	}
	if st.SourceAccount != "" {
		cond["StringEquals"] = map[string]string{"AWS:SourceAccount": st.SourceAccount}
	}
	if len(cond) > 0 {
		out["Condition"] = cond
	}
	return out
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (l lambdaService) qualifierExists(f *function, qual string) *apiError {
	if qual == "" || qual == "$LATEST" {
		return nil
	}
	_, e := l.version(f, qual)
	return e
}

func (l lambdaService) addPermission(fn, qual string, in map[string]json.RawMessage) (reply, *apiError) {
	f, e := l.fn(fn)
	if e != nil {
		return reply{}, e
	}
	if e := l.qualifierExists(f, qual); e != nil {
		return reply{}, e
	}
	st := PolicyStatement{Qualifier: qual}
	st.Sid, _ = str(in, "StatementId")
	st.Action, _ = str(in, "Action")
	st.Principal, _ = str(in, "Principal")
	st.SourceArn, _ = str(in, "SourceArn")
	st.SourceAccount, _ = str(in, "SourceAccount")
	if st.Sid == "" || st.Action == "" || st.Principal == "" {
		return reply{}, badRequest("StatementId, Action and Principal are required")
	}
	if rev, ok := str(in, "RevisionId"); ok && rev != "" && rev != f.policyID[qual] {
		return reply{}, errf(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
	}
	for _, x := range f.policies[qual] {
		if x.Sid == st.Sid {
			return reply{}, errf(409, "ResourceConflictException", "The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", st.Sid)
		}
	}
	f.policies[qual] = append(f.policies[qual], st)
	f.policyID[qual] = l.s.newRevision()
	return lambdaJSON(201, map[string]string{"Statement": string(jsonBody(l.statementJSON(f, st)))})
}

func (l lambdaService) getPolicy(fn, qual string) (reply, *apiError) {
	f, e := l.fn(fn)
	if e != nil {
		return reply{}, e
	}
	if e := l.qualifierExists(f, qual); e != nil {
		return reply{}, e
	}
	sts := f.policies[qual]
	if len(sts) == 0 {
		return reply{}, errf(404, "ResourceNotFoundException", "The resource you requested does not exist.")
	}
	var statements []any
	for _, st := range sts {
		statements = append(statements, l.statementJSON(f, st))
	}
	doc := map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": statements}
	return lambdaJSON(200, map[string]string{"Policy": string(jsonBody(doc)), "RevisionId": f.policyID[qual]})
}

func (l lambdaService) removePermission(fn, qual, sid, rev string) (reply, *apiError) {
	f, e := l.fn(fn)
	if e != nil {
		return reply{}, e
	}
	if rev != "" && rev != f.policyID[qual] {
		return reply{}, errf(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
	}
	i := slices.IndexFunc(f.policies[qual], func(st PolicyStatement) bool { return st.Sid == sid })
	if i < 0 {
		return reply{}, errf(404, "ResourceNotFoundException", "Statement %s is not found in resource policy.", sid)
	}
	f.policies[qual] = slices.Delete(f.policies[qual], i, i+1)
	f.policyID[qual] = l.s.newRevision()
	return lambdaEmpty(204)
}

func (l lambdaService) putConcurrency(fn string, in map[string]json.RawMessage) (reply, *apiError) {
	f, e := l.fn(fn)
	if e != nil {
		return reply{}, e
	}
	n, ok := num(in, "ReservedConcurrentExecutions")
	if !ok || n < 0 {
		return reply{}, badRequest("1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null")
	}
	v := int32(n)
	f.reserved = &v
	return lambdaJSON(200, map[string]int32{"ReservedConcurrentExecutions": v})
}

func (l lambdaService) deleteConcurrency(fn string) (reply, *apiError) {
	f, e := l.fn(fn)
	if e != nil {
		return reply{}, e
	}
	f.reserved = nil
	return lambdaEmpty(204)
}

func (l lambdaService) getConcurrency(fn string) (reply, *apiError) {
	f, e := l.fn(fn)
	if e != nil {
		return reply{}, e
	}
	if f.reserved == nil {
		return lambdaJSON(200, map[string]any{})
	}
	return lambdaJSON(200, map[string]int32{"ReservedConcurrentExecutions": *f.reserved})
}

func (l lambdaService) taggable(arn string) (*function, *apiError) {
	name, qual := splitFunctionRef(arn)
	if !strings.HasPrefix(arn, "arn:") || qual != "" {
		return nil, badRequest("Invalid resource ARN: %s; tags apply to unqualified function ARNs", arn)
	}
	return l.fn(name)
}

func (l lambdaService) listTags(arn string) (reply, *apiError) {
	f, e := l.taggable(arn)
	if e != nil {
		return reply{}, e
	}
	return lambdaJSON(200, map[string]any{"Tags": f.tags})
}

func (l lambdaService) tagResource(arn string, in map[string]json.RawMessage) (reply, *apiError) {
	f, e := l.taggable(arn)
	if e != nil {
		return reply{}, e
	}
	var tags map[string]string
	_ = json.Unmarshal(in["Tags"], &tags)
	maps.Copy(f.tags, tags)
	return lambdaEmpty(204)
}

func (l lambdaService) untagResource(arn string, keys []string) (reply, *apiError) {
	f, e := l.taggable(arn)
	if e != nil {
		return reply{}, e
	}
	for _, k := range keys {
		delete(f.tags, k)
	}
	return lambdaEmpty(204)
}

// invoke records the invocation under the lock and computes the result
// after it (the test's InvokeFunc may call the Server).
func (l lambdaService) invoke(r *http.Request, fn, qual string, payload []byte) (reply, *apiError) {
	f, e := l.fn(fn)
	if e != nil {
		return reply{}, e
	}
	c, e := l.version(f, qual)
	if e != nil {
		return reply{}, e
	}
	if c.State == "Pending" {
		return reply{}, errf(409, "ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: Pending")
	}
	typ := r.Header.Get("X-Amz-Invocation-Type")
	if typ == "" {
		typ = "RequestResponse"
	}
	if len(payload) > 0 && !json.Valid(payload) {
		return reply{}, errf(400, "InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json")
	}
	f.invocations = append(f.invocations, Invocation{Function: fn, Qualifier: qual, Version: c.Version, InvocationType: typ, Payload: append([]byte(nil), payload...)})
	header := map[string]string{"X-Amz-Executed-Version": c.Version}
	switch typ {
	case "Event":
		return reply{status: 202, header: header}, nil
	case "DryRun":
		return reply{status: 204, header: header}, nil
	case "RequestResponse":
	default:
		return reply{}, badRequest("Invalid InvocationType: %s", typ)
	}
	reqID := l.s.curReqID // the log's RequestId is the response's, as in Lambda
	header["X-Amzn-Requestid"] = reqID
	cold := f.cold
	f.cold = false
	memory, version := c.MemorySize, c.Version
	tail := r.Header.Get("X-Amz-Log-Type") == "Tail"
	invokeFn := l.s.invoke
	now := l.s.requestTime()
	return reply{then: func() (reply, *apiError) {
		var out []byte
		var err error
		if invokeFn != nil {
			out, err = invokeFn(fn, payload)
		} else {
			out = payload
		}
		var log strings.Builder
		fmt.Fprintf(&log, "START RequestId: %s Version: %s\n", reqID, version)
		if err != nil {
			fe := &FunctionError{Type: "Error", Message: err.Error()}
			if x, ok := err.(*FunctionError); ok {
				fe = x
			}
			out = jsonBody(map[string]any{"errorType": fe.Type, "errorMessage": fe.Message, "trace": []string{}})
			header["X-Amz-Function-Error"] = "Unhandled"
			fmt.Fprintf(&log, "%s\t%s\tERROR\tInvoke Error \t%s\n", now.Format("2006-01-02T15:04:05.000Z"), reqID, out)
		}
		fmt.Fprintf(&log, "END RequestId: %s\n", reqID)
		fmt.Fprintf(&log, "REPORT RequestId: %s\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: %d MB\tMax Memory Used: 64 MB\t", reqID, memory)
		if cold {
			log.WriteString("Init Duration: 120.00 ms\t")
		}
		log.WriteString("\n")
		l.s.lambdaLog(fn, version, now, logLines(log.String()))
		if tail {
			t := log.String()
			if len(t) > 4096 {
				t = t[len(t)-4096:]
			}
			header["X-Amz-Log-Result"] = base64.StdEncoding.EncodeToString([]byte(t))
		}
		return reply{status: 200, contentType: "application/json", header: header, body: out}, nil
	}}, nil
}

// serveCode answers the pre-signed-like Code.Location of GetFunction with the
// function version's zip.
func (s *Server) serveCode(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/__awstest/code/"), "/")
	s.mu.Lock()
	var code []byte
	if f := s.functions[parts[0]]; f != nil && len(parts) == 2 {
		if parts[1] == "$LATEST" {
			code = f.code
		} else {
			code = f.codes[parts[1]]
		}
	}
	s.mu.Unlock()
	if code == nil {
		http.Error(w, "no such code", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Write(code)
}

// logLines splits a log into CloudWatch messages, each ending in "\n" as
// Lambda's do.
func logLines(log string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		out = append(out, l+"\n")
	}
	return out
}
