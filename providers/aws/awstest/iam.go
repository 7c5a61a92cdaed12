package awstest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// xe is an XML element for the query protocols' responses.
type xe struct {
	name string
	text *string
	kids []xe
}

func el(name string, kids ...xe) xe { return xe{name: name, kids: kids} }
func tx(name, text string) xe       { return xe{name: name, text: &text} }

func (e xe) write(b *strings.Builder) {
	b.WriteString("<" + e.name + ">")
	if e.text != nil {
		xml.EscapeText(b, []byte(*e.text))
	}
	for _, k := range e.kids {
		k.write(b)
	}
	b.WriteString("</" + e.name + ">")
}

// queryReply renders <ActionResponse xmlns><ActionResult>…</ActionResult><ResponseMetadata>.
func queryReply(ns, action, requestID string, result []xe) (reply, *apiError) {
	var b strings.Builder
	b.WriteString(`<` + action + `Response xmlns="` + ns + `">`)
	if result != nil {
		el(action+"Result", result...).write(&b)
	}
	el("ResponseMetadata", tx("RequestId", requestID)).write(&b)
	b.WriteString(`</` + action + `Response>`)
	return reply{status: 200, contentType: "text/xml", body: []byte(b.String())}, nil
}

func writeQueryError(w http.ResponseWriter, e *apiError, requestID string) {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	var b strings.Builder
	b.WriteString(`<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">`)
	el("Error", tx("Type", typ), tx("Code", e.Code), tx("Message", e.Message)).write(&b)
	tx("RequestId", requestID).write(&b)
	b.WriteString(`</ErrorResponse>`)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	w.Write([]byte(b.String()))
}

const iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"

// Tag is a key and value.
type Tag struct{ Key, Value string }

type role struct {
	name, path, arn, id string
	assumePolicy        string
	description         string
	maxSession          int
	created             time.Time
	tags                []Tag
	inline              map[string]string
	inlineOrder         []string
	attached            []string
}

func setTags(tags []Tag, add []Tag) []Tag {
	for _, t := range add {
		if i := slices.IndexFunc(tags, func(x Tag) bool { return x.Key == t.Key }); i >= 0 {
			tags[i].Value = t.Value
		} else {
			tags = append(tags, t)
		}
	}
	return tags
}

func removeTags(tags []Tag, keys []string) []Tag {
	return slices.DeleteFunc(tags, func(t Tag) bool { return slices.Contains(keys, t.Key) })
}

func tagMap(tags []Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

type iamService struct{ s *Server }

func (iamService) writeError(w http.ResponseWriter, _ string, e *apiError, requestID string) {
	writeQueryError(w, e, requestID)
}

// members reads a query-protocol list: Name.member.1, Name.member.2, ...
func members(q url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := q[fmt.Sprintf("%s.member.%d", name, i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

func queryTags(q url.Values, name string) []Tag {
	var out []Tag
	for i := 1; ; i++ {
		k, ok := q[fmt.Sprintf("%s.member.%d.Key", name, i)]
		if !ok {
			return out
		}
		out = append(out, Tag{Key: k[0], Value: q.Get(fmt.Sprintf("%s.member.%d.Value", name, i))})
	}
}

var roleNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

func (i iamService) parse(r *http.Request, body []byte) (op, *apiError) {
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return op{}, errf(400, "MalformedQueryString", "%v", err)
	}
	action := q.Get("Action")
	roleName := q.Get("RoleName")
	run := map[string]func() (reply, *apiError){
		"CreateRole":               func() (reply, *apiError) { return i.createRole(q) },
		"GetRole":                  func() (reply, *apiError) { return i.getRole(roleName) },
		"DeleteRole":               func() (reply, *apiError) { return i.deleteRole(roleName) },
		"ListRoles":                func() (reply, *apiError) { return i.listRoles(q) },
		"UpdateAssumeRolePolicy":   func() (reply, *apiError) { return i.updateAssumeRolePolicy(q) },
		"ListRoleTags":             func() (reply, *apiError) { return i.listRoleTags(q) },
		"TagRole":                  func() (reply, *apiError) { return i.tagRole(roleName, queryTags(q, "Tags")) },
		"UntagRole":                func() (reply, *apiError) { return i.untagRole(roleName, members(q, "TagKeys")) },
		"PutRolePolicy":            func() (reply, *apiError) { return i.putRolePolicy(q) },
		"GetRolePolicy":            func() (reply, *apiError) { return i.getRolePolicy(roleName, q.Get("PolicyName")) },
		"DeleteRolePolicy":         func() (reply, *apiError) { return i.deleteRolePolicy(roleName, q.Get("PolicyName")) },
		"ListRolePolicies":         func() (reply, *apiError) { return i.listRolePolicies(q) },
		"AttachRolePolicy":         func() (reply, *apiError) { return i.attachRolePolicy(roleName, q.Get("PolicyArn")) },
		"DetachRolePolicy":         func() (reply, *apiError) { return i.detachRolePolicy(roleName, q.Get("PolicyArn")) },
		"ListAttachedRolePolicies": func() (reply, *apiError) { return i.listAttached(q) },
	}[action]
	if run == nil {
		return op{action: action}, errf(400, "InvalidAction", "Could not find operation %s for version %s", action, q.Get("Version"))
	}
	return op{action, roleName, run}, nil
}

func (i iamService) ok(action string, result ...xe) (reply, *apiError) {
	if result == nil {
		return queryReply(iamNS, action, i.s.curReqID, nil)
	}
	return queryReply(iamNS, action, i.s.curReqID, result)
}

func (i iamService) role(name string) (*role, *apiError) {
	if r := i.s.roles[name]; r != nil {
		return r, nil
	}
	return nil, errf(404, "NoSuchEntity", "The role with name %s cannot be found.", name)
}

func iamTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func tagsXML(tags []Tag) xe {
	t := el("Tags")
	for _, tag := range tags {
		t.kids = append(t.kids, el("member", tx("Key", tag.Key), tx("Value", tag.Value)))
	}
	return t
}

func (r *role) xml(withTags bool) xe {
	e := el("Role", tx("Path", r.path), tx("RoleName", r.name), tx("RoleId", r.id), tx("Arn", r.arn),
		tx("CreateDate", iamTime(r.created)), tx("AssumeRolePolicyDocument", rfc3986Escape(r.assumePolicy)),
		tx("MaxSessionDuration", strconv.Itoa(r.maxSession)))
	if r.description != "" {
		e.kids = append(e.kids, tx("Description", r.description))
	}
	if withTags {
		if len(r.tags) > 0 {
			e.kids = append(e.kids, tagsXML(r.tags))
		}
		e.kids = append(e.kids, el("RoleLastUsed"))
	}
	return e
}

func validPolicy(doc string) *apiError {
	var v map[string]any
	if doc == "" || json.Unmarshal([]byte(doc), &v) != nil {
		return errf(400, "MalformedPolicyDocument", "Syntax errors in policy.")
	}
	return nil
}

func (i iamService) createRole(q url.Values) (reply, *apiError) {
	s := i.s
	name := q.Get("RoleName")
	if !roleNameRE.MatchString(name) {
		return reply{}, errf(400, "ValidationError", "1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name)
	}
	if s.roles[name] != nil {
		return reply{}, errf(409, "EntityAlreadyExists", "Role with name %s already exists.", name)
	}
	doc := q.Get("AssumeRolePolicyDocument")
	if e := validPolicy(doc); e != nil {
		return reply{}, e
	}
	path := q.Get("Path")
	if path == "" {
		path = "/"
	}
	max := 3600
	if v := q.Get("MaxSessionDuration"); v != "" {
		max, _ = strconv.Atoi(v)
	}
	s.seq++
	r := &role{name: name, path: path, arn: fmt.Sprintf("arn:aws:iam::%s:role%s%s", s.account, path, name),
		id: fmt.Sprintf("AROA%016X", s.seq), assumePolicy: doc, description: q.Get("Description"),
		maxSession: max, created: s.requestTime(), tags: queryTags(q, "Tags"), inline: map[string]string{}}
	s.roles[name] = r
	return i.ok("CreateRole", r.xml(true))
}

func (i iamService) getRole(name string) (reply, *apiError) {
	r, e := i.role(name)
	if e != nil {
		return reply{}, e
	}
	return i.ok("GetRole", r.xml(true))
}

func (i iamService) deleteRole(name string) (reply, *apiError) {
	r, e := i.role(name)
	if e != nil {
		return reply{}, e
	}
	if len(r.inline) > 0 {
		return reply{}, errf(409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	}
	if len(r.attached) > 0 {
		return reply{}, errf(409, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	}
	delete(i.s.roles, name)
	return i.ok("DeleteRole")
}

func (i iamService) updateAssumeRolePolicy(q url.Values) (reply, *apiError) {
	r, e := i.role(q.Get("RoleName"))
	if e != nil {
		return reply{}, e
	}
	doc := q.Get("PolicyDocument")
	if e := validPolicy(doc); e != nil {
		return reply{}, e
	}
	r.assumePolicy = doc
	return i.ok("UpdateAssumeRolePolicy")
}

// page answers the query protocol's Marker/MaxItems/IsTruncated paging.
func (i iamService) page(q url.Values, n int, key func(int) string) (lo, hi int, trunc []xe, e *apiError) {
	max, _ := strconv.Atoi(q.Get("MaxItems"))
	lo, hi, next, ok := paginate(n, key, q.Get("Marker"), max, 100, 1000)
	if !ok {
		return 0, 0, nil, errf(400, "InvalidInput", "Invalid Marker.")
	}
	if next != "" {
		return lo, hi, []xe{tx("IsTruncated", "true"), tx("Marker", next)}, nil
	}
	return lo, hi, []xe{tx("IsTruncated", "false")}, nil
}

func (i iamService) listRoles(q url.Values) (reply, *apiError) {
	prefix := q.Get("PathPrefix")
	var rs []*role
	for _, name := range sortedKeys(i.s.roles) {
		if r := i.s.roles[name]; strings.HasPrefix(r.path, prefix) {
			rs = append(rs, r)
		}
	}
	lo, hi, trunc, e := i.page(q, len(rs), func(k int) string { return rs[k].name })
	if e != nil {
		return reply{}, e
	}
	list := el("Roles")
	for _, r := range rs[lo:hi] {
		m := r.xml(false)
		m.name = "member"
		list.kids = append(list.kids, m)
	}
	return i.ok("ListRoles", append([]xe{list}, trunc...)...)
}

func (i iamService) listRoleTags(q url.Values) (reply, *apiError) {
	r, e := i.role(q.Get("RoleName"))
	if e != nil {
		return reply{}, e
	}
	lo, hi, trunc, e := i.page(q, len(r.tags), func(k int) string { return fmt.Sprintf("%06d", k) })
	if e != nil {
		return reply{}, e
	}
	return i.ok("ListRoleTags", append([]xe{tagsXML(r.tags[lo:hi])}, trunc...)...)
}

func (i iamService) tagRole(name string, tags []Tag) (reply, *apiError) {
	r, e := i.role(name)
	if e != nil {
		return reply{}, e
	}
	if len(setTags(slices.Clone(r.tags), tags)) > 50 {
		return reply{}, errf(409, "LimitExceeded", "The number of tags has reached the maximum limit.")
	}
	r.tags = setTags(r.tags, tags)
	return i.ok("TagRole")
}

func (i iamService) untagRole(name string, keys []string) (reply, *apiError) {
	r, e := i.role(name)
	if e != nil {
		return reply{}, e
	}
	r.tags = removeTags(r.tags, keys)
	return i.ok("UntagRole")
}

func (i iamService) putRolePolicy(q url.Values) (reply, *apiError) {
	r, e := i.role(q.Get("RoleName"))
	if e != nil {
		return reply{}, e
	}
	name, doc := q.Get("PolicyName"), q.Get("PolicyDocument")
	if name == "" {
		return reply{}, errf(400, "ValidationError", "1 validation error detected: Value null at 'policyName' failed to satisfy constraint: Member must not be null")
	}
	if e := validPolicy(doc); e != nil {
		return reply{}, e
	}
	if _, ok := r.inline[name]; !ok {
		r.inlineOrder = append(r.inlineOrder, name)
	}
	r.inline[name] = doc
	return i.ok("PutRolePolicy")
}

func (i iamService) getRolePolicy(roleName, name string) (reply, *apiError) {
	r, e := i.role(roleName)
	if e != nil {
		return reply{}, e
	}
	doc, ok := r.inline[name]
	if !ok {
		return reply{}, errf(404, "NoSuchEntity", "The role policy with name %s cannot be found.", name)
	}
	return i.ok("GetRolePolicy", tx("RoleName", roleName), tx("PolicyName", name), tx("PolicyDocument", rfc3986Escape(doc)))
}

func (i iamService) deleteRolePolicy(roleName, name string) (reply, *apiError) {
	r, e := i.role(roleName)
	if e != nil {
		return reply{}, e
	}
	if _, ok := r.inline[name]; !ok {
		return reply{}, errf(404, "NoSuchEntity", "The role policy with name %s cannot be found.", name)
	}
	delete(r.inline, name)
	r.inlineOrder = slices.DeleteFunc(r.inlineOrder, func(x string) bool { return x == name })
	return i.ok("DeleteRolePolicy")
}

func (i iamService) listRolePolicies(q url.Values) (reply, *apiError) {
	r, e := i.role(q.Get("RoleName"))
	if e != nil {
		return reply{}, e
	}
	names := slices.Sorted(slices.Values(r.inlineOrder))
	lo, hi, trunc, e := i.page(q, len(names), func(k int) string { return names[k] })
	if e != nil {
		return reply{}, e
	}
	list := el("PolicyNames")
	for _, n := range names[lo:hi] {
		list.kids = append(list.kids, tx("member", n))
	}
	return i.ok("ListRolePolicies", append([]xe{list}, trunc...)...)
}

var policyArnRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/[\w+=,.@/-]+$`)

func (i iamService) attachRolePolicy(roleName, arn string) (reply, *apiError) {
	r, e := i.role(roleName)
	if e != nil {
		return reply{}, e
	}
	if !policyArnRE.MatchString(arn) {
		return reply{}, errf(400, "InvalidInput", "ARN %s is not valid.", arn)
	}
	if !slices.Contains(r.attached, arn) {
		r.attached = append(r.attached, arn)
	}
	return i.ok("AttachRolePolicy")
}

func (i iamService) detachRolePolicy(roleName, arn string) (reply, *apiError) {
	r, e := i.role(roleName)
	if e != nil {
		return reply{}, e
	}
	k := slices.Index(r.attached, arn)
	if k < 0 {
		return reply{}, errf(404, "NoSuchEntity", "Policy %s was not found.", arn)
	}
	r.attached = slices.Delete(r.attached, k, k+1)
	return i.ok("DetachRolePolicy")
}

func (i iamService) listAttached(q url.Values) (reply, *apiError) {
	r, e := i.role(q.Get("RoleName"))
	if e != nil {
		return reply{}, e
	}
	arns := slices.Sorted(slices.Values(r.attached))
	lo, hi, trunc, e := i.page(q, len(arns), func(k int) string { return arns[k] })
	if e != nil {
		return reply{}, e
	}
	list := el("AttachedPolicies")
	for _, a := range arns[lo:hi] {
		list.kids = append(list.kids, el("member", tx("PolicyName", a[strings.LastIndex(a, "/")+1:]), tx("PolicyArn", a)))
	}
	return i.ok("ListAttachedRolePolicies", append([]xe{list}, trunc...)...)
}

type stsService struct{ s *Server }

func (stsService) writeError(w http.ResponseWriter, _ string, e *apiError, requestID string) {
	writeQueryError(w, e, requestID)
}

func (t stsService) parse(r *http.Request, body []byte) (op, *apiError) {
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return op{}, errf(400, "MalformedQueryString", "%v", err)
	}
	action := q.Get("Action")
	if action != "GetCallerIdentity" {
		return op{action: action}, errf(400, "InvalidAction", "Could not find operation %s for version %s", action, q.Get("Version"))
	}
	return op{action, "", func() (reply, *apiError) {
		s := t.s
		return queryReply("https://sts.amazonaws.com/doc/2011-06-15/", action, s.curReqID, []xe{
			tx("Arn", "arn:aws:iam::"+s.account+":user/awstest"), tx("UserId", "AIDAAWSFAKEUSER00001"), tx("Account", s.account)})
	}}, nil
}
