package deploy

import (
	"errors"
	"strings"
	"testing"
)

func TestIgnoreMatch(t *testing.T) {
	type probe struct {
		path  string
		dir   bool
		want  bool
		_note string
	}
	tests := []struct {
		name   string
		rules  string
		probes []probe
	}{
		{"basename glob at any depth", "*.log", []probe{
			{path: "a.log", want: true},
			{path: "x/y/a.log", want: true},
			{path: "a.log", dir: true, want: true},
			{path: "a.logx", want: false},
			{path: "log", want: false},
			{path: "x.log/y", want: true, _note: "parent dir x.log is excluded"},
		}},
		{"star does not cross slash", "a/*.js", []probe{
			{path: "a/x.js", want: true},
			{path: "a/b/x.js", want: false},
			{path: "b/a/x.js", want: false, _note: "slash in the middle anchors"},
		}},
		{"leading slash anchors", "/build", []probe{
			{path: "build", want: true},
			{path: "build", dir: true, want: true},
			{path: "build/x", want: true},
			{path: "src/build", want: false},
		}},
		{"trailing slash matches directories only", "tmp/", []probe{
			{path: "tmp", dir: true, want: true},
			{path: "tmp", want: false},
			{path: "a/tmp", dir: true, want: true},
			{path: "a/tmp/f", want: true},
			{path: "a/tmp2", dir: true, want: false},
		}},
		{"anchored dir-only", "/node_modules/.cache/", []probe{
			{path: "node_modules/.cache", dir: true, want: true},
			{path: "node_modules/.cache/x", want: true},
			{path: "node_modules/x", want: false},
			{path: "a/node_modules/.cache", dir: true, want: false},
		}},
		{"leading double star", "**/test", []probe{
			{path: "test", want: true},
			{path: "a/b/test", dir: true, want: true},
			{path: "a/test/x", want: true},
			{path: "a/tests", want: false},
		}},
		{"double star with slash then name", "**/foo/bar", []probe{
			{path: "foo/bar", want: true},
			{path: "x/y/foo/bar", want: true},
			{path: "x/foo/baz", want: false},
		}},
		{"trailing double star matches contents, not the dir", "abc/**", []probe{
			{path: "abc", dir: true, want: false},
			{path: "abc/x", want: true},
			{path: "abc/x/y", want: true},
			{path: "x/abc/y", want: false},
		}},
		{"middle double star matches zero or more dirs", "a/**/b", []probe{
			{path: "a/b", want: true},
			{path: "a/x/b", want: true},
			{path: "a/x/y/b", want: true},
			{path: "a/x/c", want: false},
			{path: "b", want: false},
		}},
		{"negation re-includes", "*.txt\n!keep.txt", []probe{
			{path: "a.txt", want: true},
			{path: "keep.txt", want: false},
			{path: "d/keep.txt", want: false},
		}},
		{"last match wins", "!a.txt\n*.txt", []probe{
			{path: "a.txt", want: true},
		}},
		{"cannot re-include inside an excluded dir", "dist/\n!dist/keep.js", []probe{
			{path: "dist", dir: true, want: true},
			{path: "dist/keep.js", want: true},
		}},
		{"re-include with trailing double star", "dist/**\n!dist/keep.js", []probe{
			{path: "dist", dir: true, want: false},
			{path: "dist/other.js", want: true},
			{path: "dist/keep.js", want: false},
		}},
		{"exclude all but one", "/*\n!/handler.py", []probe{
			{path: "handler.py", want: false},
			{path: "util.py", want: true},
			{path: "lib", dir: true, want: true},
		}},
		{"comments blank lines and escapes", "# a comment\n\n\\#hash\n\\!bang\n  \nspace\\ ", []probe{
			{path: "# a comment", want: false},
			{path: "#hash", want: true},
			{path: "!bang", want: true},
			{path: "space ", want: true},
			{path: "space", want: false},
		}},
		{"trailing spaces are trimmed", "foo   ", []probe{
			{path: "foo", want: true},
		}},
		{"CRLF line endings", "a.txt\r\nb.txt\r\n", []probe{
			{path: "a.txt", want: true},
			{path: "b.txt", want: true},
		}},
		{"question mark and classes", "?.md\nfile[0-9].txt\nx[!a-c].go\ny[^a].go", []probe{
			{path: "a.md", want: true},
			{path: "ab.md", want: false},
			{path: "file7.txt", want: true},
			{path: "fileA.txt", want: false},
			{path: "xd.go", want: true},
			{path: "xb.go", want: false},
			{path: "yb.go", want: true},
			{path: "ya.go", want: false},
		}},
		{"bracket containing close bracket first", "[]a]z", []probe{
			{path: "]z", want: true},
			{path: "az", want: true},
			{path: "bz", want: false},
		}},
		{"escaped glob characters are literal", `\*.js` + "\n" + `a\?`, []probe{
			{path: "*.js", want: true},
			{path: "x.js", want: false},
			{path: "a?", want: true},
			{path: "ab", want: false},
		}},
		{"star matches empty and many", "a*b*c", []probe{
			{path: "abc", want: true},
			{path: "aXXbYYc", want: true},
			{path: "aXXbYY", want: false},
			{path: "ac", want: false},
		}},
		{"unicode", "é*\nça?", []probe{
			{path: "éclair", want: true},
			{path: "çaé", want: true},
			{path: "eclair", want: false},
		}},
		{"question mark does not match slash", "a?b", []probe{
			{path: "a/b", want: false},
			{path: "axb", want: true},
		}},
		{"dotfiles are plain names", ".env*", []probe{
			{path: ".env", want: true},
			{path: ".env.local", want: true},
			{path: "x/.env", want: true},
		}},
		{"double slash is one slash", "a//b", []probe{
			{path: "a/b", want: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ig, err := ParseIgnore(".evcliignore", strings.NewReader(tt.rules))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.probes {
				if got := ig.Match(p.path, p.dir); got != p.want {
					t.Errorf("rules %q: Match(%q, dir=%v) = %v, want %v %s", tt.rules, p.path, p.dir, got, p.want, p._note)
				}
			}
		})
	}
}

func TestParseIgnoreErrors(t *testing.T) {
	tests := []struct {
		rules string
		want  string
	}{
		{"ok\n[abc", `.evcliignore:2:1: unterminated "[" character class`},
		{"a/b[x", `.evcliignore:1:4: unterminated "[" character class`},
		{`foo\`, `.evcliignore:1:4: pattern ends with "\"`},
		{"/", ".evcliignore:1:1: pattern matches nothing"},
		{"!", ".evcliignore:1:1: pattern matches nothing"},
	}
	for _, tt := range tests {
		_, err := ParseIgnore(".evcliignore", strings.NewReader(tt.rules))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("ParseIgnore(%q) error = %v, want prefix %q", tt.rules, err, tt.want)
		}
		var ie *IgnoreError
		if err != nil && !errors.As(err, &ie) {
			t.Errorf("ParseIgnore(%q) error %T is not an *IgnoreError", tt.rules, err)
		}
	}
	// Every bad line is reported.
	_, err := ParseIgnore("x", strings.NewReader("[a\nok\n[b"))
	if err == nil || strings.Count(err.Error(), "unterminated") != 2 {
		t.Errorf("want two errors, got %v", err)
	}
}

func TestIgnoreStringRoundTrip(t *testing.T) {
	src := "*.log\n!keep.log\n/build/\na/**/b\n\\#x\n\\!y\nsp\\ \n/top\n"
	ig, err := ParseIgnore("x", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	want := "*.log\n!keep.log\n/build/\na/**/b\n\\#x\n\\!y\nsp\\ \n/top\n"
	if got := ig.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestDefaultIgnore(t *testing.T) {
	ig := MustIgnore(DefaultIgnore...)
	for _, p := range []struct {
		path string
		dir  bool
		want bool
	}{
		{".git", true, true},
		{"pkg/__pycache__/x.pyc", false, true},
		{".evcliignore", false, true},
		{"index.js", false, false},
		{"node_modules/x/index.js", false, false},
	} {
		if got := ig.Match(p.path, p.dir); got != p.want {
			t.Errorf("default Match(%q) = %v, want %v", p.path, got, p.want)
		}
	}
	// A user rule re-includes a default one.
	user := MustIgnore("!__pycache__/")
	if MustIgnore(DefaultIgnore...).Append(user).Match("__pycache__", true) {
		t.Error("user negation should re-include __pycache__")
	}
}

func FuzzParseIgnore(f *testing.F) {
	for _, s := range []string{"*.log\n!keep.log", "/build/", "a/**/b", "[a-z]*\n\\#x", "**", "x[!]]", "sp\\ ", "a\\"} {
		f.Add(s, "a/b/c.log", true)
	}
	f.Fuzz(func(t *testing.T, rules, path string, isDir bool) {
		ig, err := ParseIgnore("fuzz", strings.NewReader(rules))
		if err != nil {
			return
		}
		got := ig.Match(path, isDir)
		// Formatting and reparsing gives the same rules and the same decision.
		ig2, err := ParseIgnore("fuzz", strings.NewReader(ig.String()))
		if err != nil {
			t.Fatalf("reparse of %q: %v", ig.String(), err)
		}
		if ig.String() != ig2.String() {
			t.Fatalf("format not stable: %q then %q", ig.String(), ig2.String())
		}
		if got2 := ig2.Match(path, isDir); got2 != got {
			t.Fatalf("Match(%q) = %v before format, %v after (rules %q)", path, got, got2, ig.String())
		}
	})
}
