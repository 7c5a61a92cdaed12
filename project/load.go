package project

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// LoadOptions are the overrides applied on top of the file:
// Flags (non-empty values) > EVCLI_* variables in Environ > file > defaults.
type LoadOptions struct {
	Flags   map[string]string // keys: provider, region, gcp.project (--project), azure.subscription (--subscription), azure.resourceGroup (--resource-group) (also project, bus, store.type, store.table, gcp.guard, azure.location)
	Environ []string          // KEY=VALUE, as os.Environ
}

// maxFileSize bounds the project file evcli reads.
const maxFileSize = 1 << 20

// maxShown bounds the diagnostics one load reports; the rest are counted.
const maxShown = 50

// Load reads, validates and returns the project file at path. An invalid
// file, a missing one or a wrong override returns *Diagnostics listing every
// problem found, sorted by position.
func Load(path string, o LoadOptions) (*Project, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return load(path, data, o)
}

func readFile(path string) ([]byte, error) {
	fail := func(msg, hint string) error {
		return &Diagnostics{File: path, List: []Diagnostic{{File: path, Msg: msg, Hint: hint}}}
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fail("no such file",
			"run evcli in the project's directory, name the file with -f, or create a project with: evcli init NAME --template fan-out")
	case err != nil:
		return nil, fail(fmt.Sprintf("cannot read it: %v", errors.Unwrap(err)), "")
	case st.IsDir():
		return nil, fail("is a directory", "name the file itself, e.g. -f "+filepath.Join(path, DefaultFile))
	case st.Size() > maxFileSize:
		return nil, fail(fmt.Sprintf("the file is %d bytes; evcli reads project files up to %d", st.Size(), maxFileSize), "")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fail(fmt.Sprintf("cannot read it: %v", errors.Unwrap(err)), "")
	}
	return data, nil
}

// load decodes data, the contents of the file at path.
func load(path string, data []byte, o LoadOptions) (*Project, error) {
	if len(data) > maxFileSize {
		return nil, &Diagnostics{File: path, List: []Diagnostic{{File: path,
			Msg: fmt.Sprintf("the file is %d bytes; evcli reads project files up to %d", len(data), maxFileSize)}}}
	}
	dir := filepath.Dir(path)
	d := &decoder{file: path, dir: dir, budget: maxNodes, lines: strings.Split(string(data), "\n")}
	p := &Project{Path: path, Dir: dir}

	root := d.parse(data)
	var fileVals fileSettings
	if root != nil {
		fileVals = d.decodeFile(root, p)
	}
	s := d.resolve(fileVals, o)
	if root != nil && deref(root).Kind == yaml.MappingNode && s["project"] == "" && !d.reported("project") {
		d.add(root, "project", "missing", "name the project: project: shop (lower-case letters, digits and '-')")
	}
	p.Name = s["project"]
	p.Provider = s["provider"]
	p.Region = s["region"]
	p.Bus = s["bus"]
	p.Store.Type = s["store.type"]
	p.Store.Table = s["store.table"]
	p.GCP.Project = s["gcp.project"]
	if g := s["gcp.guard"]; g != "off" {
		p.GCP.Guard = g
	}
	p.Azure = Azure{Subscription: s["azure.subscription"], ResourceGroup: s["azure.resourceGroup"], Location: s["azure.location"]}
	if o.Flags["region"] != "" && p.Azure.Location != "" {
		p.Azure.Location = p.Region // --region beats azure.location
	}
	for i := range p.Functions {
		for j := range p.Functions[i].Events {
			if p.Functions[i].Events[j].Bus == "" {
				p.Functions[i].Events[j].Bus = p.Bus
			}
		}
	}
	applyHandlers(p)
	for i := range p.Workflows {
		for j := range p.Workflows[i].Events {
			if p.Workflows[i].Events[j].Bus == "" {
				p.Workflows[i].Events[j].Bus = p.Bus
			}
		}
	}
	if len(d.diags) > 0 {
		ds := &Diagnostics{File: path, List: d.diags}
		ds.sort()
		if len(ds.List) > maxShown {
			ds.More = len(ds.List) - maxShown
			ds.List = ds.List[:maxShown:maxShown]
		}
		return nil, ds
	}
	return p, nil
}

// reported tells whether a diagnostic already names path.
func (d *decoder) reported(path string) bool {
	for _, x := range d.diags {
		if x.Path == path {
			return true
		}
	}
	return false
}

// parse parses data as one YAML document and returns its top node, or nil
// after reporting why it cannot.
func (d *decoder) parse(data []byte) *yaml.Node {
	empty := func() *yaml.Node {
		d.add(nil, "", "the file is empty", "a project file starts with its name and functions:\nproject: shop\nfunctions:\n  inventory: {source: functions/inventory, runtime: provided.al2023}")
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case err == io.EOF:
		return empty()
	case err != nil:
		d.syntaxError(data, err)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err != nil:
		d.syntaxError(data, err)
		return nil
	default:
		line, col := next.Line, next.Column
		if len(next.Content) > 0 {
			line, col = next.Content[0].Line, next.Content[0].Column
		}
		if n := bytes.Count(data, []byte("\n")) + 1; line > n {
			line, col = n, 1 // an empty document at the very end
		}
		d.diags = append(d.diags, Diagnostic{File: d.file, Line: line, Col: col,
			Msg:  "a second YAML document starts here",
			Hint: "a project file holds one document: remove the '---' line and merge the two"})
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return empty()
	}
	return doc.Content[0]
}

// syntaxError reports a YAML syntax error at its line and column.
func (d *decoder) syntaxError(data []byte, err error) {
	msg := yamlMessage(err)
	line, col := locateSyntaxError(data, msg)
	if line == 0 {
		// Too big to search: take yaml.v3's line, which may be the start
		// of the enclosing block.
		if n, ok := yamlLine(err); ok {
			line, col = n, firstNonBlank([]byte(lineText(data, n)))
		}
	}
	hint := ""
	for _, h := range syntaxHints {
		if strings.Contains(msg, h.msg) {
			hint = h.hint
			break
		}
	}
	if line > 0 && strings.Contains(msg, "cannot start any token") {
		if l := lineText(data, line); col >= 1 && col <= len([]rune(l)) && []rune(l)[col-1] == '\t' {
			hint = "YAML does not allow tabs for indentation: use spaces"
		}
	}
	d.diags = append(d.diags, Diagnostic{File: d.file, Line: line, Col: col, Msg: "invalid YAML: " + msg, Hint: hint})
}

var syntaxHints = []struct{ msg, hint string }{
	{"mapping values are not allowed", "a value that contains \": \" must be quoted (key: \"a: b\"), or a key is indented too far"},
	{"did not find expected key", "check this line's indentation: the keys of one mapping line up"},
	{"could not find expected ':'", "a key is followed by ': ' and its value"},
	{"did not find expected ',' or ']'", "a [ ... ] list is not closed"},
	{"did not find expected ',' or '}'", "a { ... } mapping is not closed"},
	{"found unexpected end of stream", "a quoted string is not closed"},
	{"did not find expected '-' indicator", "check this line's indentation: the items of one list line up"},
	{"unknown anchor", "define the anchor with &name before using it with *name"},
	{"control characters are not allowed", "remove the control character (the file may not be text)"},
	{"UTF-8", "save the file as UTF-8"},
}

// yamlMessage strips yaml.v3's "yaml: " and "line N: " prefixes.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		if i := strings.Index(msg, ": "); i > 0 {
			msg = msg[i+2:]
		}
	}
	return msg
}

// yamlLine returns the line yaml.v3 names in err.
func yamlLine(err error) (int, bool) {
	var n int
	if _, e := fmt.Sscanf(strings.TrimPrefix(err.Error(), "yaml: "), "line %d:", &n); e != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// parseErr returns the stripped message of the first error parsing data
// (every document), or "".
func parseErr(data []byte) string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			return ""
		}
		if err != nil {
			return yamlMessage(err)
		}
	}
}

// maxLocateLines bounds the files locateSyntaxError searches.
const maxLocateLines = 20_000

// locateSyntaxError finds where a syntax error is. yaml.v3 gives a line
// that is sometimes the start of the enclosing block and never a column,
// so it looks for the shortest prefix of the file that fails to parse
// with the same message: the line that prefix ends on holds the error,
// and the shortest part of that line that fails gives its column. Both
// are binary searches, so a file is parsed O(log n) times.
func locateSyntaxError(data []byte, msg string) (line, col int) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxLocateLines {
		return 0, 0
	}
	ends := make([]int, len(lines)+1) // ends[i] = offset after line i (1-based)
	for i, l := range lines {
		ends[i+1] = ends[i] + len(l)
	}
	fails := func(end int) bool { return parseErr(data[:end]) == msg }
	lo, hi := 0, len(lines) // fails(ends[hi]); assume !fails(ends[0])
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fails(ends[mid]) {
			hi = mid
		} else {
			lo = mid
		}
	}
	if hi == 0 || !fails(ends[hi]) {
		return 0, 0
	}
	line = hi
	l := lines[hi-1]
	start := ends[hi-1]
	var runeEnds []int // byte offsets (within l) after each character
	for c := 0; c < len(l); {
		_, size := utf8.DecodeRune(l[c:])
		c += size
		runeEnds = append(runeEnds, c)
	}
	// Find the fewest characters k of the line with fails(start+runeEnds[k-1]).
	clo, chi := 0, len(runeEnds) // fails at chi (the whole line)
	for chi-clo > 1 {
		mid := (clo + chi) / 2
		if fails(start + runeEnds[mid-1]) {
			chi = mid
		} else {
			clo = mid
		}
	}
	col = chi
	if col == len(runeEnds) || col == 0 {
		// Only the whole line fails: point at its first character.
		col = firstNonBlank(l)
	}
	return line, col
}

func firstNonBlank(l []byte) int {
	for i, r := range []rune(string(l)) {
		if r != ' ' && r != '\t' && r != '\r' && r != '\n' {
			return i + 1
		}
	}
	return 1
}

func lineText(data []byte, line int) string {
	lines := strings.Split(string(data), "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	return lines[line-1]
}

// Find returns the project file for a command run in dir: dir/name, or
// else the nearest parent directory's name (as git finds .git), or
// dir/name when no directory up to the root holds one (Load then says
// "no such file"). name must be a bare file name.
func Find(dir, name string) string {
	first := filepath.Join(dir, name)
	abs, err := filepath.Abs(dir)
	if err != nil {
		return first
	}
	for d := abs; ; {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			if d == abs {
				return first
			}
			return p
		}
		parent := filepath.Dir(d)
		if parent == d {
			return first
		}
		d = parent
	}
}
