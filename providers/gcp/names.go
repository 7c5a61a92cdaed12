package gcp

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Physical names. A Cloud Functions project and region hold the functions
// of every evcli project deployed there, so evcli names them after the
// project; Pub/Sub subscriptions (one per rule) likewise:
//
//	function      <project>-<fn>                  (63 characters at most, [a-z0-9-])
//	topic         <bus>                           (evcli.yaml's bus; evcli-default for "default")
//	subscription  evcli-<project>-<fn>-<rule id>  (255 characters at most)
//
// Cloud Functions ids are lower case: a name with other characters (or
// over the limit) keeps what it can and ends with 8 hex digits of the
// SHA-256 of the whole name, so it stays unique and stable. Users keep
// typing <fn>: the exact names travel in the function's environment
// (EVCLI_PROJECT, EVCLI_FUNCTION), and the label evcli-project (label
// values are lower case too) narrows the listing.

// FunctionID is the Cloud Functions id of the project's function fn.
func FunctionID(project, fn string) string {
	name := fn
	if project != "" {
		name = project + "-" + fn
	}
	return idName(name, 63)
}

// TopicID is the Pub/Sub topic of the project's bus. A bus is shared by
// the projects that name it, as an EventBridge bus is; evcli's default bus
// ("default", or none) is the topic evcli-default, so that evcli takes no
// generic topic name in the Google Cloud project.
func TopicID(project, bus string) string {
	if bus == "" || bus == "default" {
		return "evcli-default"
	}
	return bus
}

// SubscriptionID is the Pub/Sub subscription of one rule of fn.
func SubscriptionID(project, fn, rule string) string {
	return limitName("evcli-"+project+"-"+fn+"-"+rule, 255)
}

// LabelValue is s as a label value: lower case letters, digits, - and _,
// 63 characters at most (with a hash suffix when s had to change).
func LabelValue(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			out = append(out, c)
		default:
			out = append(out, '_')
		}
	}
	if string(out) == s && len(s) <= 63 {
		return s
	}
	return withHash(string(out), s, 63)
}

// idName is name as a Cloud Functions id: [a-z][a-z0-9-]* ending in a
// letter or digit, at most max characters.
func idName(name string, max int) string {
	out := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			out = append(out, c)
		case c >= 'A' && c <= 'Z':
			out = append(out, c+'a'-'A')
		case c == '_', c == '.':
			out = append(out, '-')
		}
	}
	id := string(out)
	if id == name && len(id) <= max && id != "" && id[0] >= 'a' && id[0] <= 'z' && !strings.HasSuffix(id, "-") {
		return id
	}
	id = strings.Trim(id, "-")
	if id == "" || id[0] < 'a' || id[0] > 'z' {
		id = "f-" + id
	}
	return withHash(id, name, max)
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
	return strings.TrimRight(prefix, "-_") + "-" + h
}
