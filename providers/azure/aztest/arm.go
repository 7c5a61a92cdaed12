// Package aztest is an in-process fake of the Azure services the azure
// driver calls, on one HTTP server on 127.0.0.1, following their
// published REST specs: Azure Resource Manager for function apps and
// their Flex Consumption plans (Microsoft.Web), storage accounts and
// their blob containers (Microsoft.Storage), Event Grid topics and event
// subscriptions (Microsoft.EventGrid), Log Analytics workspaces and
// Application Insights components (insights.go), Cosmos DB's
// sqlRoleAssignments (cosmosrbac.go); a function app's SCM site
// (OneDeploy, /api/publish, asynchronous with a deployment status) and
// host (evcli's invoke route, with host keys); and Event Grid's data
// plane (CloudEvents batches), whose events it routes through the
// subscriptions' filters with Event Grid's semantics (Match).
//
// It keeps state across calls, validates what Azure validates (names,
// Flex instance sizes, filter limits, a subscription's destination
// function existing), records every mutating call, and injects the errors
// Azure answers (Fail: 409 conflict, 429 with Retry-After, 404, 5xx) in
// the ARM error shape.
//
// Mount points: ARM at URL(), SCM at URL()+"/scm", function hosts at
// URL()+"/functions", Event Grid's data plane at URL()+"/eventgrid", each
// with /{name} after it.
package aztest

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Call is one request the fake answered.
type Call struct {
	Method, Path string
	// Resource is the resource the call touched (its ARM path, or
	// "scm/<app>", "eventgrid/<topic>").
	Resource string
	// Mutating: the call changes state (PUT, PATCH, DELETE, a POST that is
	// not a list or a read of keys; a OneDeploy publish).
	Mutating bool
	Status   int
}

// Result is what a function answers when it runs.
type Result struct {
	Status int
	Body   []byte
	Logs   []string
}

// App is a deployed function app as a handler sees it.
type App struct {
	Name     string
	Tags     map[string]string
	Settings map[string]string
	// Package is the zip last published (nil before the first publish).
	Package []byte
	// InvocationID is the id of the invocation running (invoke only): the
	// host answers it as X-Evcli-Invocation-Id, and App Insights records
	// the invocation's lines and request under it.
	InvocationID string
}

// Option configures a Server.
type Option func(*Server)

// WithInvoke sets what a function does when it runs (invoke, delivery).
func WithInvoke(fn func(app App, body []byte) Result) Option {
	return func(s *Server) { s.invoke = fn }
}

// fault is an injected error.
type fault struct {
	method, path string
	status       int
	code         string
	retryAfter   string
	left         int
}

// Server is the fake.
type Server struct {
	srv    *httptest.Server
	invoke func(App, []byte) Result

	mu          sync.Mutex
	sites       map[string]map[string]any // by lower-case name
	settings    map[string]map[string]string
	packages    map[string][]byte
	plans       map[string]map[string]any
	accounts    map[string]map[string]any
	containers  map[string]bool // account/container
	topics      map[string]map[string]any
	subs        map[string]map[string]map[string]any // topic -> name -> resource
	events      map[string][]json.RawMessage         // topic -> published CloudEvents
	deployments map[string]map[string]any            // id -> status
	workspaces  map[string]map[string]any            // Log Analytics workspaces by lower-case name
	components  map[string]map[string]any            // Application Insights components by lower-case name
	// cosmosAccounts are the Cosmos DB accounts ARM knows (AddCosmosAccount);
	// roleAssignments their sqlRoleAssignments by account/id (cosmosrbac.go).
	cosmosAccounts  map[string]bool
	roleAssignments map[string]RoleAssignment
	// armRoles are the Microsoft.Authorization role assignments by
	// lower-case name (authz.go).
	armRoles map[string]ARMRoleAssignment
	calls    []Call
	faults   []*fault
	seq      int
	// deployFail, when set, is the next OneDeploy deployment's failure.
	deployFail string
}

// FailNextDeployment makes the next OneDeploy publish accepted (202) but
// its deployment fail (status 3) with msg, as a package the host cannot
// load does; the app keeps its earlier package.
func (s *Server) FailNextDeployment(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deployFail = msg
}

// New starts a fake on 127.0.0.1.
func New(opts ...Option) *Server {
	s := &Server{sites: map[string]map[string]any{}, settings: map[string]map[string]string{}, packages: map[string][]byte{},
		plans: map[string]map[string]any{}, accounts: map[string]map[string]any{}, containers: map[string]bool{},
		topics: map[string]map[string]any{}, subs: map[string]map[string]map[string]any{}, events: map[string][]json.RawMessage{},
		deployments: map[string]map[string]any{}}
	for _, o := range opts {
		o(s)
	}
	if s.invoke == nil {
		s.invoke = func(_ App, body []byte) Result { return Result{Status: 200, Body: body} }
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the fake's base URL (ARM's endpoint).
func (s *Server) URL() string { return s.srv.URL }

// Close stops the fake.
func (s *Server) Close() { s.srv.Close() }

// Fail makes the next n requests whose method is method (any when "") and
// whose path contains path fail with status and the ARM error code, with
// Retry-After retryAfter when not "".
func (s *Server) Fail(method, path string, status int, code, retryAfter string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, path: path, status: status, code: code, retryAfter: retryAfter, left: n})
}

// Calls returns every call answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// MutatingCalls returns the resources of the mutating calls so far, as
// "METHOD resource".
func (s *Server) MutatingCalls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		if c.Mutating && c.Status/100 == 2 {
			out = append(out, c.Method+" "+c.Resource)
		}
	}
	return out
}

// Apps returns the function apps with their settings.
func (s *Server) Apps() []App {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []App
	for name := range s.sites {
		out = append(out, s.appLocked(name))
	}
	slices.SortFunc(out, func(a, b App) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (s *Server) appLocked(lname string) App {
	site := s.sites[lname]
	a := App{Name: site["name"].(string), Tags: map[string]string{}, Settings: map[string]string{}, Package: s.packages[lname]}
	if t, ok := site["tags"].(map[string]any); ok {
		for k, v := range t {
			a.Tags[k], _ = v.(string)
		}
	}
	for k, v := range s.settings[lname] {
		a.Settings[k] = v
	}
	return a
}

type armError struct {
	status int
	code   string
	msg    string
}

func errf(status int, code, format string, args ...any) *armError {
	return &armError{status, code, fmt.Sprintf(format, args...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: r.Method, Path: r.URL.Path}
	status := 0
	defer func() {
		call.Status = status
		s.calls = append(s.calls, call)
	}()
	for _, f := range s.faults {
		if f.left > 0 && (f.method == "" || f.method == r.Method) && strings.Contains(r.URL.Path, f.path) {
			f.left--
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			status = f.status
			writeError(w, &armError{f.status, f.code, "injected by aztest"})
			return
		}
	}
	var (
		out  any
		aerr *armError
	)
	switch {
	case strings.HasPrefix(r.URL.Path, "/scm/"):
		status = s.serveSCM(w, r, body, &call)
		return
	case strings.HasPrefix(r.URL.Path, "/functions/"):
		status = s.serveHost(w, r, body, &call)
		return
	case strings.HasPrefix(r.URL.Path, "/eventgrid/"):
		status = s.serveEventGrid(w, r, body, &call)
		return
	case strings.HasPrefix(r.URL.Path, "/subscriptions/"):
		if r.Header.Get("Authorization") == "" {
			aerr = errf(401, "AuthenticationFailed", "no Authorization header")
			break
		}
		if r.URL.Query().Get("api-version") == "" {
			aerr = errf(400, "MissingApiVersionParameter", "the api-version query parameter is required")
			break
		}
		status, out, aerr = s.serveARM(r, body, &call)
	default:
		aerr = errf(404, "NotFound", "no route %s", r.URL.Path)
	}
	if aerr != nil {
		status = aerr.status
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if out != nil {
		json.NewEncoder(w).Encode(out)
	}
}

func writeError(w http.ResponseWriter, e *armError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-ms-error-code", e.code)
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": e.code, "message": e.msg}})
}

var armPath = regexp.MustCompile(`^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/([^/]+)/([^/]+)(?:/([^/]+))?(/.*)?$`)

var (
	siteName    = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]{0,58}[a-zA-Z0-9]$`)
	accountName = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	topicName   = regexp.MustCompile(`^[a-zA-Z0-9-]{3,50}$`)
	subName     = regexp.MustCompile(`^[a-zA-Z0-9-]{3,64}$`)
	container   = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)
)

func (s *Server) serveARM(r *http.Request, body []byte, call *Call) (int, any, *armError) {
	m := armPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return 0, nil, errf(404, "InvalidResourceType", "no route %s", r.URL.Path)
	}
	sub, rg, ns, typ, name, rest := m[1], m[2], m[3], strings.ToLower(m[4]), m[5], m[6]
	base := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + ns + "/" + m[4]
	call.Resource = strings.TrimPrefix(r.URL.Path, "/subscriptions/"+sub+"/resourceGroups/"+rg+"/providers/")
	switch r.Method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		call.Mutating = true
	case http.MethodPost:
		call.Mutating = !strings.HasSuffix(strings.ToLower(rest), "/list") && !strings.HasSuffix(strings.ToLower(rest), "listkeys")
	}
	var in map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return 0, nil, errf(400, "InvalidRequestContent", "the body is not JSON: %v", err)
		}
	}
	if strings.Contains(strings.ToLower(rest), "/providers/microsoft.authorization/roleassignments") {
		if !strings.EqualFold(ns, "Microsoft.EventGrid") || typ != "topics" || s.topics[name] == nil {
			return 0, nil, errf(404, "ResourceNotFound", "The Resource '%s/%s/%s' under resource group '%s' was not found (the fake assigns roles on topics).", ns, m[4], name, rg)
		}
		i := strings.Index(strings.ToLower(r.URL.Path), "/providers/microsoft.authorization/roleassignments")
		return s.authzAPI(r.Method, r.URL.Path[:i]+"/providers/Microsoft.Authorization/roleAssignments"+r.URL.Path[i+len("/providers/microsoft.authorization/roleassignments"):], in)
	}
	switch {
	case strings.EqualFold(ns, "Microsoft.Web") && typ == "sites":
		return s.sitesAPI(r.Method, base, name, rest, in)
	case strings.EqualFold(ns, "Microsoft.Web") && typ == "serverfarms":
		return s.plansAPI(r.Method, base, name, in)
	case strings.EqualFold(ns, "Microsoft.Storage") && typ == "storageaccounts":
		return s.storageAPI(r.Method, base, name, rest, in)
	case strings.EqualFold(ns, "Microsoft.EventGrid") && typ == "topics":
		return s.topicsAPI(r.Method, base, name, rest, in)
	case strings.EqualFold(ns, "Microsoft.OperationalInsights") && typ == "workspaces":
		return s.workspacesAPI(r.Method, base, name, rest, in)
	case strings.EqualFold(ns, "Microsoft.Insights") && typ == "components":
		return s.componentsAPI(r.Method, base, name, rest, in)
	case strings.EqualFold(ns, "Microsoft.DocumentDB") && typ == "databaseaccounts":
		return s.cosmosAPI(r.Method, base, name, rest, in)
	}
	return 0, nil, errf(404, "InvalidResourceType", "the fake has no %s/%s", ns, typ)
}

func (s *Server) sitesAPI(method, base, name, rest string, in map[string]any) (int, any, *armError) {
	ln := strings.ToLower(name)
	if name == "" {
		if method != http.MethodGet {
			return 0, nil, errf(405, "MethodNotAllowed", "")
		}
		var list []any
		for _, k := range slices.Sorted(mapsKeys(s.sites)) {
			list = append(list, s.sites[k])
		}
		return 200, map[string]any{"value": list}, nil
	}
	site := s.sites[ln]
	switch strings.ToLower(rest) {
	case "":
	case "/config/appsettings/list":
		if site == nil {
			return 0, nil, errf(404, "ResourceNotFound", "site %s not found", name)
		}
		return 200, map[string]any{"name": "appsettings", "properties": s.settings[ln]}, nil
	case "/config/appsettings":
		if site == nil {
			return 0, nil, errf(404, "ResourceNotFound", "site %s not found", name)
		}
		props, _ := in["properties"].(map[string]any)
		st := map[string]string{}
		for k, v := range props {
			st[k], _ = v.(string)
		}
		if e := flexSettings(st); e != nil {
			return 0, nil, e
		}
		s.settings[ln] = st
		return 200, map[string]any{"name": "appsettings", "properties": st}, nil
	case "/host/default/listkeys":
		if site == nil {
			return 0, nil, errf(404, "ResourceNotFound", "site %s not found", name)
		}
		return 200, map[string]any{"masterKey": "master-" + ln, "functionKeys": map[string]any{"default": "key-" + ln}}, nil
	default:
		return 0, nil, errf(404, "NotFound", "the fake has no sites/%s%s", name, rest)
	}
	switch method {
	case http.MethodGet:
		if site == nil {
			return 0, nil, errf(404, "ResourceNotFound", "The Resource 'Microsoft.Web/sites/%s' under resource group was not found.", name)
		}
		return 200, site, nil
	case http.MethodDelete:
		if site == nil {
			return 204, nil, nil
		}
		delete(s.sites, ln)
		delete(s.settings, ln)
		delete(s.packages, ln)
		return 200, nil, nil
	case http.MethodPut:
		if !siteName.MatchString(name) {
			return 0, nil, errf(400, "InvalidSiteName", "site name %q is not 2-60 letters, digits and hyphens", name)
		}
		props, _ := in["properties"].(map[string]any)
		if props == nil {
			return 0, nil, errf(400, "InvalidRequestContent", "properties is required")
		}
		farm, _ := props["serverFarmId"].(string)
		if s.plans[strings.ToLower(lastSegment(farm))] == nil {
			return 0, nil, errf(404, "ServerFarmNotFound", "server farm %q not found", farm)
		}
		fac, _ := props["functionAppConfig"].(map[string]any)
		if fac == nil {
			return 0, nil, errf(400, "FunctionAppConfigRequired", "a Flex Consumption app needs functionAppConfig")
		}
		sc, _ := fac["scaleAndConcurrency"].(map[string]any)
		mem, _ := sc["instanceMemoryMB"].(float64)
		if mem != 512 && mem != 2048 && mem != 4096 {
			return 0, nil, errf(400, "InvalidInstanceMemoryMB", "instanceMemoryMB %v is not one of 512, 2048, 4096", mem)
		}
		rt, _ := fac["runtime"].(map[string]any)
		if rt["name"] == nil {
			return 0, nil, errf(400, "RuntimeRequired", "functionAppConfig.runtime.name is required")
		}
		dep, _ := fac["deployment"].(map[string]any)
		st, _ := dep["storage"].(map[string]any)
		if u, _ := st["value"].(string); !s.containerExists(u) {
			return 0, nil, errf(400, "DeploymentStorageNotFound", "the deployment container %q does not exist", u)
		}
		settings := map[string]string{}
		if cfg, ok := props["siteConfig"].(map[string]any); ok {
			list, _ := cfg["appSettings"].([]any)
			for _, x := range list {
				nv, _ := x.(map[string]any)
				k, _ := nv["name"].(string)
				v, _ := nv["value"].(string)
				settings[k] = v
			}
		}
		if e := flexSettings(settings); e != nil {
			return 0, nil, e
		}
		stored := map[string]any{}
		for k, v := range props {
			if k != "siteConfig" {
				stored[k] = v
			}
		}
		stored["defaultHostName"] = ln + ".azurewebsites.net"
		stored["hostNameSslStates"] = []any{
			map[string]any{"name": ln + ".azurewebsites.net", "hostType": "Standard", "sslState": "Disabled"},
			map[string]any{"name": ln + ".scm.azurewebsites.net", "hostType": "Repository", "sslState": "Disabled"},
		}
		stored["state"], stored["provisioningState"] = "Running", "Succeeded"
		status := 200 // App Service answers a create or an update with 200
		res := map[string]any{"id": base + "/" + name, "name": name, "type": "Microsoft.Web/sites", "location": in["location"],
			"kind": in["kind"], "tags": in["tags"], "properties": stored}
		if id, _ := in["identity"].(map[string]any); id != nil {
			typ, _ := id["type"].(string)
			switch typ {
			case "None", "":
			case "SystemAssigned", "SystemAssigned, UserAssigned":
				res["identity"] = map[string]any{"type": typ, "principalId": principalOf(name), "tenantId": "72f988bf-0000-4000-8000-000000000000"}
			default:
				return 0, nil, errf(400, "BadRequest", "identity type %q is not supported by the fake", typ)
			}
		}
		s.sites[ln] = res
		s.settings[ln] = settings
		return status, res, nil
	}
	return 0, nil, errf(405, "MethodNotAllowed", "")
}

// flexSettings refuses the app settings Flex Consumption does not take.
func flexSettings(st map[string]string) *armError {
	for _, k := range []string{"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE"} {
		if _, ok := st[k]; ok {
			return errf(400, "InvalidAppSetting", "app setting %s is not supported on the Flex Consumption plan", k)
		}
	}
	return nil
}

func (s *Server) plansAPI(method, base, name string, in map[string]any) (int, any, *armError) {
	ln := strings.ToLower(name)
	switch method {
	case http.MethodGet:
		if p := s.plans[ln]; p != nil {
			return 200, p, nil
		}
		return 0, nil, errf(404, "ResourceNotFound", "server farm %s not found", name)
	case http.MethodDelete:
		for _, site := range s.sites {
			props := site["properties"].(map[string]any)
			if strings.EqualFold(lastSegment(fmt.Sprint(props["serverFarmId"])), name) {
				return 0, nil, errf(409, "Conflict", "server farm %s still hosts site %s", name, site["name"])
			}
		}
		if s.plans[ln] == nil {
			return 204, nil, nil
		}
		delete(s.plans, ln)
		return 200, nil, nil
	case http.MethodPut:
		sku, _ := in["sku"].(map[string]any)
		if sku["name"] != "FC1" || sku["tier"] != "FlexConsumption" {
			return 0, nil, errf(400, "InvalidSku", "the fake makes Flex Consumption plans only (FC1), not %v", sku)
		}
		res := map[string]any{"id": base + "/" + name, "name": name, "type": "Microsoft.Web/serverfarms", "location": in["location"],
			"kind": in["kind"], "sku": sku, "tags": in["tags"], "properties": map[string]any{"provisioningState": "Succeeded", "reserved": true}}
		s.plans[ln] = res
		return 200, res, nil
	}
	return 0, nil, errf(405, "MethodNotAllowed", "")
}

func (s *Server) storageAPI(method, base, name, rest string, in map[string]any) (int, any, *armError) {
	acct := s.accounts[name]
	if rest == "" {
		switch method {
		case http.MethodGet:
			if acct == nil {
				return 0, nil, errf(404, "ResourceNotFound", "storage account %s not found", name)
			}
			return 200, acct, nil
		case http.MethodPut:
			if !accountName.MatchString(name) {
				return 0, nil, errf(400, "AccountNameInvalid", "%s is not a valid storage account name: 3 to 24 lower-case letters and digits", name)
			}
			res := map[string]any{"id": base + "/" + name, "name": name, "type": "Microsoft.Storage/storageAccounts", "location": in["location"],
				"kind": in["kind"], "sku": in["sku"], "tags": in["tags"], "properties": map[string]any{"provisioningState": "Succeeded"}}
			s.accounts[name] = res
			return 200, res, nil
		}
		return 0, nil, errf(405, "MethodNotAllowed", "")
	}
	if acct == nil {
		return 0, nil, errf(404, "ResourceNotFound", "storage account %s not found", name)
	}
	if strings.EqualFold(rest, "/listKeys") && method == http.MethodPost {
		return 200, map[string]any{"keys": []any{map[string]any{"keyName": "key1", "value": "ZmFrZS1rZXk=", "permissions": "FULL"}}}, nil
	}
	c, ok := strings.CutPrefix(rest, "/blobServices/default/containers/")
	if !ok {
		return 0, nil, errf(404, "NotFound", "the fake has no storageAccounts/%s%s", name, rest)
	}
	key := name + "/" + c
	switch method {
	case http.MethodGet:
		if !s.containers[key] {
			return 0, nil, errf(404, "ContainerNotFound", "container %s not found", c)
		}
		return 200, map[string]any{"id": base + "/" + name + rest, "name": c}, nil
	case http.MethodPut:
		if !container.MatchString(c) {
			return 0, nil, errf(400, "ContainerOperationFailure", "%s is not a valid container name", c)
		}
		s.containers[key] = true
		return 200, map[string]any{"id": base + "/" + name + rest, "name": c}, nil
	case http.MethodDelete:
		delete(s.containers, key)
		return 200, nil, nil
	}
	return 0, nil, errf(405, "MethodNotAllowed", "")
}

// containerExists reports whether a deployment storage URL
// (https://<account>.blob…/<container> or <base>/<account>/<container>)
// names a container of the fake.
func (s *Server) containerExists(u string) bool {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	parts := strings.Split(u, "/")
	if len(parts) < 2 {
		return false
	}
	c := parts[len(parts)-1]
	acct := parts[len(parts)-2]
	if len(parts) == 2 {
		acct, _, _ = strings.Cut(parts[0], ".")
	}
	return s.containers[acct+"/"+c]
}

func lastSegment(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// serveSCM is OneDeploy on an app's SCM site: /scm/<app>/api/publish and
// /scm/<app>/api/deployments/<id>.
func (s *Server) serveSCM(w http.ResponseWriter, r *http.Request, body []byte, call *Call) int {
	rest := strings.TrimPrefix(r.URL.Path, "/scm/")
	app, path, _ := strings.Cut(rest, "/")
	ln := strings.ToLower(app)
	call.Resource = "scm/" + app
	fail := func(e *armError) int { writeError(w, e); return e.status }
	if r.Header.Get("Authorization") == "" {
		return fail(errf(401, "Unauthorized", "no Authorization header"))
	}
	if s.sites[ln] == nil {
		return fail(errf(404, "NotFound", "no site %s", app))
	}
	switch {
	case path == "api/publish" && r.Method == http.MethodPost:
		call.Mutating = true
		if ct := r.Header.Get("Content-Type"); ct != "application/zip" {
			return fail(errf(415, "UnsupportedMediaType", "OneDeploy takes application/zip, not %q", ct))
		}
		if _, err := zip.NewReader(bytes.NewReader(body), int64(len(body))); err != nil {
			return fail(errf(400, "BadRequest", "the package is not a zip: %v", err))
		}
		s.seq++
		id := fmt.Sprintf("dep-%d", s.seq)
		if s.deployFail != "" {
			s.deployments[id] = map[string]any{"id": id, "status": 3, "status_text": s.deployFail, "complete": true}
			s.deployFail = ""
		} else {
			s.packages[ln] = slices.Clone(body)
			s.deployments[id] = map[string]any{"id": id, "status": 4, "status_text": "Build successful.", "complete": true, "deployer": r.URL.Query().Get("Deployer")}
		}
		// Like Kudu: 202, the deployment id as the body; the status is at
		// /api/deployments/<id> (and /latest).
		s.deployments["latest/"+ln] = s.deployments[id]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(id)
		return http.StatusAccepted
	case strings.HasPrefix(path, "api/deployments/") && r.Method == http.MethodGet:
		dep := strings.TrimPrefix(path, "api/deployments/")
		if dep == "latest" {
			dep = "latest/" + ln
		}
		d := s.deployments[dep]
		if d == nil {
			return fail(errf(404, "NotFound", "no deployment %s", path))
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(d)
		return 200
	}
	return fail(errf(404, "NotFound", "the fake's SCM site has no %s %s", r.Method, path))
}

// serveHost is a function app's host: /functions/<app>/api/evcli-invoke.
func (s *Server) serveHost(w http.ResponseWriter, r *http.Request, body []byte, call *Call) int {
	rest := strings.TrimPrefix(r.URL.Path, "/functions/")
	app, path, _ := strings.Cut(rest, "/")
	ln := strings.ToLower(app)
	call.Resource = "functions/" + app
	fail := func(e *armError) int { writeError(w, e); return e.status }
	if s.sites[ln] == nil {
		return fail(errf(404, "NotFound", "no site %s", app))
	}
	if path != "api/evcli-invoke" || r.Method != http.MethodPost {
		return fail(errf(404, "NotFound", "no function route %s", path))
	}
	if k := r.Header.Get("x-functions-key"); k != "key-"+ln && k != "master-"+ln {
		return fail(errf(401, "Unauthorized", "a function key is required"))
	}
	if s.packages[ln] == nil {
		return fail(errf(404, "NotFound", "the app has no functions (no package was published)"))
	}
	if t, ok := PackageFunctions(s.packages[ln])["evcli-invoke"]; !ok || !strings.EqualFold(t, "httpTrigger") {
		return fail(errf(404, "NotFound", "the app's package registers no function with the route evcli-invoke"))
	}
	a := s.appLocked(ln)
	s.seq++
	a.InvocationID = fmt.Sprintf("inv-%d", s.seq)
	s.mu.Unlock()
	res := s.invoke(a, body)
	s.mu.Lock()
	w.Header().Set("X-Evcli-Invocation-Id", a.InvocationID)
	w.WriteHeader(res.Status)
	w.Write(res.Body)
	return res.Status
}
