package project

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// SetMemory sets functions.<function>.memory to mb in the project file at
// path. Only that value changes: every other byte of the file (comments,
// layout, quoting, key order) stays as it is. When the function has no
// memory key, one is added on a line of its own after the function's
// runtime (or handler, architecture or source) line, with the same
// indentation; a function written as a flow mapping ({...}) gets it as its
// first key. The file is replaced atomically.
//
// A file that cannot be parsed, or that has no such function, returns
// *Diagnostics.
func SetMemory(path, function string, mb int) error {
	if mb < MinMemoryMB || mb > MaxMemoryMB {
		return fmt.Errorf("project: memory %d MB is out of range: memory is in MB, from %d to %d", mb, MinMemoryMB, MaxMemoryMB)
	}
	data, err := readFile(path)
	if err != nil {
		return err
	}
	out, err := setMemory(path, data, function, mb)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, out)
}

// setMemory returns data with function's memory set to mb.
func setMemory(path string, data []byte, function string, mb int) ([]byte, error) {
	d := &decoder{file: path, dir: filepath.Dir(path), budget: maxNodes}
	root := d.parse(data)
	if root == nil {
		return nil, &Diagnostics{File: path, List: d.diags}
	}
	fail := func(n *yaml.Node, p, msg, hint string) error {
		d.diags = nil
		d.add(n, p, msg, hint)
		return &Diagnostics{File: path, List: d.diags}
	}
	fns := child(root, "functions")
	if fns == nil || fns.Kind != yaml.MappingNode {
		return nil, fail(root, "functions", "the file has no functions mapping", "")
	}
	var names []string
	var fkey, fn *yaml.Node
	for i := 0; i+1 < len(fns.Content); i += 2 {
		names = append(names, fns.Content[i].Value)
		if fns.Content[i].Value == function {
			fkey, fn = fns.Content[i], fns.Content[i+1]
		}
	}
	if fn == nil {
		hint := "the functions are " + strings.Join(names, ", ")
		if s := suggest(function, names); s != "" {
			hint = fmt.Sprintf("did you mean %q? %s", s, hint)
		}
		return nil, fail(fns, "functions."+function, "no such function", hint)
	}
	if fn.Kind != yaml.MappingNode {
		return nil, fail(fkey, "functions."+function, "the function is not a mapping", "")
	}
	value := strconv.Itoa(mb)
	path2 := "functions." + function + ".memory"
	if mem := child(fn, "memory"); mem != nil {
		if mem.Kind != yaml.ScalarNode {
			return nil, fail(mem, path2, "memory is not a plain value; set it by hand", "")
		}
		off, n := byteOffset(data, mem.Line, mem.Column), 0
		if off >= 0 {
			n = rawScalarLen(data[off:], mem)
		}
		if n <= 0 {
			return nil, fail(mem, path2, "cannot find the memory value's text to replace; set it by hand", "")
		}
		out := make([]byte, 0, len(data)+len(value))
		out = append(out, data[:off]...)
		out = append(out, value...)
		out = append(out, data[off+n:]...)
		return checkMemory(path, out, function, mb)
	}
	if len(fn.Content) == 0 {
		return nil, fail(fkey, "functions."+function, "the function has no keys to place memory next to", "")
	}
	if fn.Style&yaml.FlowStyle != 0 {
		off := byteOffset(data, fn.Content[0].Line, fn.Content[0].Column)
		if off < 0 {
			return nil, fail(fn, path2, "cannot place the memory key; set it by hand", "")
		}
		ins := "memory: " + value + ", "
		return checkMemory(path, splice(data, off, ins), function, mb)
	}
	// Block mapping: a new line after the best anchor key.
	first := fn.Content[0]
	lineStart := byteOffset(data, first.Line, 1)
	keyOff := byteOffset(data, first.Line, first.Column)
	if lineStart < 0 || keyOff < 0 || strings.Trim(string(data[lineStart:keyOff]), " ") != "" {
		return nil, fail(first, path2, "cannot place the memory key; set it by hand", "")
	}
	indent := string(data[lineStart:keyOff])
	anchor := first
	for _, k := range []string{"source", "architecture", "handler", "runtime"} {
		for i := 0; i+1 < len(fn.Content); i += 2 {
			kn, vn := fn.Content[i], fn.Content[i+1]
			if kn.Value == k && vn.Kind == yaml.ScalarNode && vn.Line == kn.Line &&
				vn.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 && !multiline(data, vn) {
				anchor = kn
			}
		}
	}
	if anchor == first && (fn.Content[1].Kind != yaml.ScalarNode || fn.Content[1].Line != first.Line || multiline(data, fn.Content[1])) {
		// No one-line key to follow: put memory first.
		return checkMemory(path, splice(data, lineStart, indent+"memory: "+value+newline(data)), function, mb)
	}
	next := lineEnd(data, anchor.Line)
	ins := indent + "memory: " + value + newline(data)
	if next == len(data) && (len(data) == 0 || data[len(data)-1] != '\n') {
		ins = newline(data) + indent + "memory: " + value
	}
	return checkMemory(path, splice(data, next, ins), function, mb)
}

// checkMemory parses the edited file again and confirms the edit did what
// was meant, so a surprise in the layout never writes a broken file.
func checkMemory(path string, out []byte, function string, mb int) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err == nil && len(doc.Content) > 0 {
		if fn := child(child(doc.Content[0], "functions"), function); fn != nil {
			if mem := child(fn, "memory"); mem != nil && mem.ShortTag() == "!!int" && mem.Value == strconv.Itoa(mb) {
				return out, nil
			}
		}
	}
	return nil, &Diagnostics{File: path, List: []Diagnostic{{File: path, Path: "functions." + function + ".memory",
		Msg: "cannot set memory without changing the file's layout", Hint: fmt.Sprintf("set it by hand: memory: %d", mb)}}}
}

// child returns the value of key in mapping m (not following merge keys).
func child(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// byteOffset converts a 1-based line and column (in characters, as yaml.v3
// counts them) to a byte offset in data, or -1.
func byteOffset(data []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	for c := 1; c < col; c++ {
		if off >= len(data) || data[off] == '\n' {
			return -1
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off
}

// lineEnd returns the offset just after line's newline (or len(data)).
func lineEnd(data []byte, line int) int {
	off := byteOffset(data, line, 1)
	if off < 0 {
		return len(data)
	}
	if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(data)
}

// rawScalarLen returns how many bytes scalar n takes at the start of raw,
// or 0 when its text is not the plain or quoted form of its value.
func rawScalarLen(raw []byte, n *yaml.Node) int {
	var want string
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		want = `"` + n.Value + `"`
	case n.Style&yaml.SingleQuotedStyle != 0:
		want = `'` + n.Value + `'`
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0
	default:
		want = n.Value
		if !bytes.HasPrefix(raw, []byte(want)) {
			return 0
		}
		if len(raw) > len(want) && !strings.ContainsRune(" \t\r\n,}]#", rune(raw[len(want)])) {
			return 0
		}
		return len(want)
	}
	if !bytes.HasPrefix(raw, []byte(want)) {
		return 0
	}
	return len(want)
}

// multiline reports whether scalar n's text runs past its first line.
func multiline(data []byte, n *yaml.Node) bool {
	off := byteOffset(data, n.Line, n.Column)
	return off < 0 || rawScalarLen(data[off:], n) == 0
}

func newline(data []byte) string {
	if bytes.Contains(data, []byte("\r\n")) {
		return "\r\n"
	}
	return "\n"
}

func splice(data []byte, off int, ins string) []byte {
	out := make([]byte, 0, len(data)+len(ins))
	out = append(out, data[:off]...)
	out = append(out, ins...)
	return append(out, data[off:]...)
}

// writeFileAtomic replaces path with data, keeping its permissions.
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("project: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("project: write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("project: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("project: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("project: write %s: %w", path, err)
	}
	return nil
}
