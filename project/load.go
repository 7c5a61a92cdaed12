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
	Flags   map[string]string // keys: provider, region (also project, bus, store.type, store.table)
	Environ []string          // KEY=VALUE, as os.Environ
}

// maxFileSize bounds the project file evcli reads.
const maxFileSize = 4 << 20

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
	for i := range p.Functions {
		for j := range p.Functions[i].Events {
			if p.Functions[i].Events[j].Bus == "" {
				p.Functions[i].Events[j].Bus = p.Bus
			}
		}
	}
	if len(d.diags) > 0 {
		ds := &Diagnostics{File: path, List: d.diags}
		ds.sort()
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
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			d.add(nil, "", "the file is empty", "a project file starts with its name and functions:\nproject: shop\nfunctions:\n  inventory: {source: functions/inventory, runtime: provided.al2023}")
			return nil
		}
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
		d.diags = append(d.diags, Diagnostic{File: d.file, Line: line, Col: col,
			Msg:  "a second YAML document starts here",
			Hint: "a project file holds one document: remove the '---' line and merge the two"})
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		d.add(nil, "", "the file is empty", "")
		return nil
	}
	return doc.Content[0]
}

// syntaxError reports a YAML syntax error at its line and column.
func (d *decoder) syntaxError(data []byte, err error) {
	msg := yamlMessage(err)
	line, col := locateSyntaxError(data, msg)
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

// Bounds of locateSyntaxError's search (it parses one prefix per line).
const (
	maxLocateLines = 2000
	maxLocateCols  = 400
)

// locateSyntaxError finds where a syntax error is. yaml.v3 gives a line
// that is sometimes the start of the enclosing block and never a column,
// so it parses ever longer prefixes of the file: the first line whose
// prefix fails with the same message holds the error, and the shortest
// part of that line that fails gives its column. Failing that, it returns
// the line of the first non-blank character after the last good prefix.
func locateSyntaxError(data []byte, msg string) (line, col int) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxLocateLines {
		return 0, 0
	}
	off := 0
	for i, l := range lines {
		end := off + len(l)
		if parseErr(data[:end]) == msg {
			line = i + 1
			col = firstNonBlank(l)
			n := 0
			for c := 0; c < len(l) && n < maxLocateCols; n++ {
				_, size := utf8.DecodeRune(l[c:])
				c += size
				if parseErr(data[:off+c]) == msg {
					col = n + 1
					break
				}
			}
			return line, col
		}
		off = end
	}
	return 0, 0
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
