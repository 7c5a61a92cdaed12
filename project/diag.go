package project

import (
	"fmt"
	"strings"
)

// Diagnostic is one problem in a project file.
type Diagnostic struct {
	File      string // as given
	Line, Col int    // 1-based; 0 when unknown
	Path      string // field path, e.g. functions.orders.memory
	Msg       string // what is wrong
	Hint      string // what would be right
}

func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", d.Line, d.Col)
	}
	b.WriteString(": ")
	if d.Path != "" {
		b.WriteString(d.Path + ": ")
	}
	b.WriteString(d.Msg)
	if d.Hint != "" {
		b.WriteString("\n    " + d.Hint)
	}
	return b.String()
}

// Diagnostics is every problem found in a project file; it is the error Load
// returns for an invalid file (exit code 2).
type Diagnostics struct {
	List []Diagnostic
}

func (d *Diagnostics) Error() string {
	var b strings.Builder
	for _, x := range d.List {
		b.WriteString(x.String())
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%d problem(s) in %s\n", len(d.List), func() string {
		if len(d.List) > 0 {
			return d.List[0].File
		}
		return "project file"
	}())
	return b.String()
}
