package azure

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Physical names. Function app names are host names under
// azurewebsites.net, unique across Azure, and storage account names are
// unique across Azure too, so both carry a stable hash of where they are
// deployed (subscription, resource group) and of the project; the rest are
// unique within the resource group:
//
//	function app   <project>-<fn>-<6 hex>   2–60 characters, [a-z0-9-], unique in Azure
//	plan           <function app>           its Flex Consumption plan (one app per Flex plan)
//	storage        ev<project>…<hex>        3–24 characters, [a-z0-9], unique in Azure
//	container      app-package-<function app>  3–63 characters, [a-z0-9-]
//	topic          <bus>                    3–50 characters, [A-Za-z0-9-] (evcli-default for "default")
//	subscription   <project>-<rule id>      3–64 characters, [A-Za-z0-9-]
//
// A name with other characters, or over its limit, keeps what it can and
// ends with 8 hex digits of the SHA-256 of the whole name, so it stays
// unique and stable. Users keep typing <fn>: the exact names travel in
// the app's tags (evcli-project, evcli-function).

// Namer derives the physical names of one project in one resource group.
type Namer struct {
	Subscription, ResourceGroup, Project string
}

// scopeHash is n hex digits of the SHA-256 of where the project deploys.
func (n Namer) scopeHash(extra string, digits int) string {
	sum := sha256.Sum256([]byte(strings.ToLower(n.Subscription + "/" + n.ResourceGroup + "/" + n.Project + "/" + extra)))
	return hex.EncodeToString(sum[:])[:digits]
}

// App is the function app of the project's function fn.
func (n Namer) App(fn string) string {
	base := hostLabel(n.Project + "-" + fn)
	suffix := "-" + n.scopeHash("", 6)
	if len(base)+len(suffix) > 60 {
		base = withHash(base, n.Project+"-"+fn, 60-len(suffix))
	}
	return base + suffix
}

// StorageAccount is the project's storage account (the apps' host storage
// and their deployment containers).
func (n Namer) StorageAccount() string {
	var b strings.Builder
	b.WriteString("ev")
	for _, c := range strings.ToLower(n.Project) {
		if b.Len() >= 10 {
			break
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String() + n.scopeHash("storage", 24-b.Len())
}

// Container is the deployment container of a function app.
func Container(app string) string { return limitName(hostLabel("app-package-"+app), 63) }

// Topic is the Event Grid custom topic of a bus. A bus is shared by the
// projects that name it; evcli's default bus ("default", or none) is the
// topic evcli-default.
func Topic(bus string) string {
	if bus == "" || bus == "default" {
		return "evcli-default"
	}
	return resourceName(bus, 50)
}

// EventSubscription is the event subscription of one rule of the project.
func (n Namer) EventSubscription(rule string) string {
	return resourceName(n.Project+"-"+rule, 64)
}

// hostLabel is s as a DNS label: [a-z0-9-] without "--", starting and
// ending with a letter or digit (a hash is added where s had to change).
func hostLabel(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			out = append(out, c)
		case c >= 'A' && c <= 'Z':
			out = append(out, c+'a'-'A')
		default:
			out = append(out, '-')
		}
		if n := len(out); n >= 2 && out[n-1] == '-' && out[n-2] == '-' {
			out = out[:n-1] // container names take no "--"
		}
	}
	l := strings.Trim(string(out), "-")
	if l == s && l != "" {
		return l
	}
	if l == "" {
		l = "x"
	}
	return withHash(l, s, len(l)+9)
}

// resourceName is s within [A-Za-z0-9-], 3 to max characters.
func resourceName(s string, max int) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			out = append(out, c)
		default:
			out = append(out, '-')
		}
	}
	r := string(out)
	if r == s && len(r) >= 3 && len(r) <= max {
		return r
	}
	return withHash(strings.Trim(r, "-"), s, max)
}

// limitName keeps name within max characters, ending in a hash when cut.
func limitName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	return withHash(name, name, max)
}

// withHash is prefix cut to leave room for "-" and 8 hex digits of the
// SHA-256 of whole.
func withHash(prefix, whole string, max int) string {
	sum := sha256.Sum256([]byte(whole))
	h := hex.EncodeToString(sum[:4])
	if len(prefix) > max-9 {
		prefix = prefix[:max-9]
	}
	prefix = strings.TrimRight(prefix, "-_")
	if prefix == "" {
		return h
	}
	return prefix + "-" + h
}

// str is *p, or "" for nil.
func str[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// Insights is the project's Application Insights component, where its
// function apps' traces and requests go (tail, tune's records).
func (n Namer) Insights() string { return resourceName(n.Project+"-insights", 255) }

// Workspace is the project's Log Analytics workspace, which its
// Application Insights component (workspace-based) keeps its data in
// (4–63 letters, digits and '-').
func (n Namer) Workspace() string { return resourceName(n.Project+"-logs", 63) }
