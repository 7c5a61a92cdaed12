package deploy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

var (
	decodeRune = utf8.DecodeRuneInString
	joinErrors = errors.Join
)

// IgnoreFile is the name of the file, in a function's source directory, whose
// patterns leave files out of the function's zip.
const IgnoreFile = ".evcliignore"

// DefaultIgnore are the rules applied before a function's own .evcliignore:
// version-control metadata, evcli's own state, interpreter caches and editor
// droppings, none of which belong in a deployment package and all of which
// change without the sources changing. A "!" line in .evcliignore
// re-includes any of them.
var DefaultIgnore = []string{
	".git/",
	".hg/",
	".svn/",
	".evcli/",
	IgnoreFile,
	"__pycache__/",
	"*.pyc",
	".DS_Store",
	"*.swp",
	"*~",
}

// IgnoreRule is one pattern line of an ignore file.
type IgnoreRule struct {
	Line     int    // 1-based line in the file; 0 for DefaultIgnore rules
	Pattern  string // the pattern as written, without "!", leading "/" and trailing "/"
	Negate   bool   // "!pattern": re-include what earlier rules excluded
	DirOnly  bool   // "pattern/": matches directories only
	Anchored bool   // the pattern contains a "/" before its end: matched from the root, not at any depth

	segs []segment // Pattern split at "/"
}

// segment is one "/"-separated part of a pattern, classified once so that
// the common shapes ("name", "*.ext") match without the glob engine.
type segment struct {
	pat  string
	kind segKind
}

type segKind uint8

const (
	segGlob       segKind = iota
	segLiteral            // no glob characters: compare
	segSuffix             // "*" then no glob characters: HasSuffix(pat[1:])
	segDoubleStar         // "**"
)

func compileSegment(p string) segment {
	const meta = "*?[\\"
	switch {
	case p == "**":
		return segment{p, segDoubleStar}
	case !strings.ContainsAny(p, meta):
		return segment{p, segLiteral}
	case p[0] == '*' && !strings.ContainsAny(p[1:], meta):
		return segment{p, segSuffix}
	}
	return segment{p, segGlob}
}

func (s segment) match(name string) bool {
	switch s.kind {
	case segLiteral:
		return s.pat == name
	case segSuffix:
		return strings.HasSuffix(name, s.pat[1:])
	}
	return matchSegment(s.pat, name)
}

// String formats the rule as it would be written in an ignore file.
func (r IgnoreRule) String() string {
	var b strings.Builder
	if r.Negate {
		b.WriteByte('!')
	}
	if r.Anchored && !strings.Contains(r.Pattern, "/") {
		b.WriteByte('/')
	} else if !r.Negate && (strings.HasPrefix(r.Pattern, "!") || strings.HasPrefix(r.Pattern, "#")) {
		b.WriteByte('\\')
	}
	b.WriteString(r.Pattern)
	if r.DirOnly {
		b.WriteByte('/')
	}
	return b.String()
}

// Ignore decides which paths of a source directory are left out of its zip,
// with .gitignore's rules: the last rule that matches a path decides; "*" and
// "?" do not match "/"; "**" matches any number of directories; a pattern
// without a "/" (other than a trailing one) matches at any depth; a leading
// "/" anchors it to the source directory; a trailing "/" matches directories
// only; "!" re-includes. As with git, a file cannot be re-included when one
// of its parent directories is excluded: the walk never enters that directory.
type Ignore struct {
	Rules []IgnoreRule
}

// IgnoreError is a malformed pattern in an ignore file.
type IgnoreError struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (e *IgnoreError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// ParseIgnore reads ignore rules from r; name is used in errors. Every
// malformed line is reported, not only the first.
func ParseIgnore(name string, r io.Reader) (*Ignore, error) {
	ig := &Ignore{}
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		rule, ok, err := parseIgnoreLine(text)
		if err != nil {
			err.File, err.Line = name, line
			errs = append(errs, err)
			continue
		}
		if ok {
			rule.Line = line
			ig.Rules = append(ig.Rules, rule)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs...)
	}
	return ig, nil
}

// MustIgnore builds an Ignore from pattern lines; it panics on a malformed
// pattern and is meant for fixed rule sets such as DefaultIgnore.
func MustIgnore(lines ...string) *Ignore {
	ig, err := ParseIgnore("rules", strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		panic(err)
	}
	return ig
}

// Append returns an Ignore with o's rules after ig's, so o's rules win.
func (ig *Ignore) Append(o *Ignore) *Ignore {
	out := &Ignore{Rules: make([]IgnoreRule, 0, len(ig.Rules)+len(o.Rules))}
	out.Rules = append(out.Rules, ig.Rules...)
	out.Rules = append(out.Rules, o.Rules...)
	return out
}

// String formats the rules, one per line, so that ParseIgnore reads them back.
func (ig *Ignore) String() string {
	var b strings.Builder
	for _, r := range ig.Rules {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// parseIgnoreLine parses one line; ok is false for blank lines and comments.
func parseIgnoreLine(s string) (IgnoreRule, bool, *IgnoreError) {
	s = strings.TrimSuffix(s, "\r")
	s = trimTrailingSpace(s)
	if s == "" || s[0] == '#' {
		return IgnoreRule{}, false, nil
	}
	var r IgnoreRule
	switch {
	case s[0] == '!':
		r.Negate = true
		s = s[1:]
	case strings.HasPrefix(s, `\!`), strings.HasPrefix(s, `\#`):
		s = s[1:]
	}
	if strings.HasSuffix(s, "/") {
		r.DirOnly = true
		s = strings.TrimRight(s, "/")
	}
	if strings.HasPrefix(s, "/") {
		r.Anchored = true
		s = strings.TrimLeft(s, "/")
	}
	if s == "" {
		return IgnoreRule{}, false, &IgnoreError{Col: 1, Msg: "pattern matches nothing: write a name or glob such as \"build/\" or \"*.log\""}
	}
	if strings.Contains(s, "/") {
		r.Anchored = true
	}
	r.Pattern = s
	for _, seg := range splitSegments(s) {
		if seg != "**" {
			if col, msg := checkGlob(seg); msg != "" {
				return IgnoreRule{}, false, &IgnoreError{Col: col + strings.Index(s, seg) + 1, Msg: msg}
			}
		}
		r.segs = append(r.segs, compileSegment(seg))
	}
	return r, true, nil
}

// trimTrailingSpace removes trailing spaces, tabs and carriage returns
// unless escaped with a backslash.
func trimTrailingSpace(s string) string {
	for strings.HasSuffix(s, " ") || strings.HasSuffix(s, "\t") || strings.HasSuffix(s, "\r") {
		if strings.HasSuffix(s[:len(s)-1], `\`) {
			// "\ " is a literal space: keep it (the escape is resolved by the glob).
			return s
		}
		s = s[:len(s)-1]
	}
	return s
}

// splitSegments splits a pattern at "/" and folds runs of "**" segments.
func splitSegments(p string) []string {
	raw := strings.Split(p, "/")
	segs := raw[:0]
	for _, s := range raw {
		if s == "" {
			continue // "a//b" is "a/b"
		}
		if s == "**" && len(segs) > 0 && segs[len(segs)-1] == "**" {
			continue
		}
		segs = append(segs, s)
	}
	return segs
}

// Match reports whether rel (a slash-separated path relative to the source
// directory) is excluded: by a rule matching it or, as git does, because one
// of its parent directories is excluded. isDir says whether rel names a
// directory.
func (ig *Ignore) Match(rel string, isDir bool) bool {
	if ig == nil {
		return false
	}
	rel = strings.Trim(rel, "/")
	if rel == "" || rel == "." {
		return false
	}
	path := strings.Split(rel, "/")
	for i := 1; i < len(path); i++ {
		if ig.matchPath(path[:i], true) {
			return true
		}
	}
	return ig.matchPath(path, isDir)
}

// matchPath decides path alone, assuming its parents are not excluded: the
// last matching rule wins.
func (ig *Ignore) matchPath(path []string, isDir bool) bool {
	excluded := false
	for i := range ig.Rules {
		r := &ig.Rules[i]
		if r.DirOnly && !isDir {
			continue
		}
		if r.Negate != excluded {
			// The rule could not change the outcome: skip the match.
			continue
		}
		if r.matches(path) {
			excluded = !r.Negate
		}
	}
	return excluded
}

func (r *IgnoreRule) matches(path []string) bool {
	segs := r.segs
	if segs == nil { // a rule built by hand rather than parsed
		for _, p := range splitSegments(r.Pattern) {
			segs = append(segs, compileSegment(p))
		}
	}
	if !r.Anchored {
		// A pattern without a slash matches the last element at any depth.
		return len(segs) == 1 && segs[0].match(path[len(path)-1])
	}
	return matchSegments(segs, path)
}

// matchSegments matches pattern segments against path elements; "**" matches
// zero or more elements, except at the end of the pattern where it matches
// one or more ("dir/**" matches what is inside dir, not dir itself).
func matchSegments(pat []segment, path []string) bool {
	for len(pat) > 0 {
		if pat[0].kind == segDoubleStar {
			rest := pat[1:]
			if len(rest) == 0 {
				return len(path) >= 1
			}
			for i := 0; i <= len(path); i++ {
				if matchSegments(rest, path[i:]) {
					return true
				}
			}
			return false
		}
		if len(path) == 0 || !pat[0].match(path[0]) {
			return false
		}
		pat, path = pat[1:], path[1:]
	}
	return len(path) == 0
}

// checkGlob reports the 0-based column and a message for a malformed glob
// segment (an unterminated "[" class or a trailing backslash).
func checkGlob(p string) (int, string) {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if i+1 >= len(p) {
				return i, `pattern ends with "\": escape a character after it, e.g. "\*" for a literal star`
			}
			i++
		case '[':
			j := i + 1
			if j < len(p) && (p[j] == '!' || p[j] == '^') {
				j++
			}
			if j < len(p) && p[j] == ']' {
				j++
			}
			for j < len(p) && p[j] != ']' {
				if p[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(p) {
				return i, `unterminated "[" character class: close it with "]" or write "\[" for a literal bracket`
			}
			i = j
		}
	}
	return 0, ""
}

// matchSegment matches one path element against a glob without "/":
// "*" any run, "?" one character, "[a-z]" / "[!a-z]" / "[^a-z]" classes,
// "\x" a literal x.
func matchSegment(pat, name string) bool {
	px, nx := 0, 0
	nextPx, nextNx := -1, -1
	for px < len(pat) || nx < len(name) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				nextPx, nextNx = px, nx
				px++
				continue
			case '?':
				if nx < len(name) {
					_, w := decodeRune(name[nx:])
					px++
					nx += w
					continue
				}
			case '[':
				if nx < len(name) {
					r, w := decodeRune(name[nx:])
					if ok, end := matchClass(pat[px:], r); ok {
						px += end
						nx += w
						continue
					}
				}
			case '\\':
				if px+1 < len(pat) && nx < len(name) && pat[px+1] == name[nx] {
					px += 2
					nx++
					continue
				}
			default:
				if nx < len(name) && name[nx] == c {
					px++
					nx++
					continue
				}
			}
		}
		if nextPx >= 0 && nextNx < len(name) {
			// Let the last "*" swallow one more character and retry.
			_, w := decodeRune(name[nextNx:])
			nextNx += w
			px, nx = nextPx+1, nextNx
			continue
		}
		return false
	}
	return true
}

// matchClass matches r against the class at the start of pat ("[...]") and
// returns the length of the class.
func matchClass(pat string, r rune) (bool, int) {
	i := 1
	negate := false
	if i < len(pat) && (pat[i] == '!' || pat[i] == '^') {
		negate = true
		i++
	}
	matched := false
	first := true
	for i < len(pat) && (pat[i] != ']' || first) {
		first = false
		lo, w := classChar(pat[i:])
		i += w
		hi := lo
		if i+1 < len(pat) && pat[i] == '-' && pat[i+1] != ']' {
			hi, w = classChar(pat[i+1:])
			i += 1 + w
		}
		if lo <= r && r <= hi {
			matched = true
		}
	}
	if i >= len(pat) {
		return false, 0 // unterminated: rejected by checkGlob
	}
	return matched != negate, i + 1
}

func classChar(s string) (rune, int) {
	if s[0] == '\\' && len(s) > 1 {
		r, w := decodeRune(s[1:])
		return r, w + 1
	}
	return decodeRune(s)
}
