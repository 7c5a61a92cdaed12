package awstest

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// paginate pages through n items sorted by key. token is an opaque token
// from an earlier page ("" for the first); it holds the key of the first
// item of its page, so items deleted between pages shift nothing. limit <= 0
// means def, and a limit above max is max.
func paginate(n int, key func(int) string, token string, limit, def, max int) (lo, hi int, next string, ok bool) {
	if limit <= 0 {
		limit = def
	}
	if limit > max {
		limit = max
	}
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || !strings.HasPrefix(string(raw), "awstest:") {
			return 0, 0, "", false
		}
		from := strings.TrimPrefix(string(raw), "awstest:")
		lo = sort.Search(n, func(i int) bool { return key(i) >= from })
	}
	hi = min(lo+limit, n)
	if hi < n {
		next = base64.RawURLEncoding.EncodeToString([]byte("awstest:" + key(hi)))
	}
	return lo, hi, next, true
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("awstest: " + err.Error())
	}
	return b
}

func copyTags(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

// pathSegments splits the escaped path and unescapes each segment, so that
// an escaped "/" inside a label (an ARN) stays in its segment.
func pathSegments(r *http.Request) []string {
	var out []string
	for _, seg := range strings.Split(r.URL.EscapedPath(), "/") {
		if seg == "" {
			continue
		}
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		out = append(out, seg)
	}
	return out
}

// rfc3986Escape percent-encodes everything but unreserved characters, as
// IAM does for policy documents in its responses.
func rfc3986Escape(s string) string {
	var b strings.Builder
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
