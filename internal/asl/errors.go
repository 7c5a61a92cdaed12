package asl

import (
	"fmt"
	"strings"
)

// DefinitionError is every problem of one definition file, each at its
// file:line:col. Commands map it to a usage error (exit 2).
type DefinitionError struct {
	File  string
	Diags []PlacedDiag
}

// PlacedDiag is a Diag with its line and column.
type PlacedDiag struct {
	Line, Col int
	Diag
}

// String renders "file:line:col: path: message" and the hint indented below.
func (d PlacedDiag) String(file string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", file, d.Line, d.Col)
	if d.Path != "" {
		b.WriteString(d.Path + ": ")
	}
	b.WriteString(d.Msg)
	if d.Hint != "" {
		b.WriteString("\n    " + d.Hint)
	}
	return b.String()
}

func (e *DefinitionError) Error() string {
	lines := make([]string, len(e.Diags))
	for i, d := range e.Diags {
		lines[i] = d.String(e.File)
	}
	return strings.Join(lines, "\n")
}

// ParseFile parses and validates the definition src, read from file, and
// returns a *DefinitionError naming every problem's line and column.
func ParseFile(file string, src []byte, o Options) (*StateMachine, error) {
	sm, diags := Parse(src, o)
	if len(diags) == 0 {
		return sm, nil
	}
	return nil, Place(file, src, diags)
}

// Place turns diagnostics at byte offsets of src into a *DefinitionError.
func Place(file string, src []byte, diags []Diag) *DefinitionError {
	e := &DefinitionError{File: file}
	for _, d := range diags {
		l, c := LineCol(src, d.Off)
		e.Diags = append(e.Diags, PlacedDiag{Line: l, Col: c, Diag: d})
	}
	return e
}
