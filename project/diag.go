package project

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Diagnostic is one problem in a project file, or in a flag or EVCLI_*
// variable that overrides one of its keys.
type Diagnostic struct {
	// File is the project file as given; for an override it names the
	// source instead ("--provider", "EVCLI_REGION").
	File      string
	Line, Col int    // 1-based; 0 when unknown
	Path      string // field path, e.g. functions.orders.memory
	Msg       string // what is wrong
	Hint      string // what would be right
}

// String renders the diagnostic as
//
//	evcli.yaml:12:13: functions.orders.memory: 20000 is out of range
//	    memory is in MB, from 128 to 10240
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Where())
	b.WriteString(": ")
	if d.Path != "" {
		b.WriteString(d.Path + ": ")
	}
	b.WriteString(d.Msg)
	if d.Hint != "" {
		for _, l := range strings.Split(d.Hint, "\n") {
			b.WriteString("\n    " + l)
		}
	}
	return b.String()
}

// Where is "file:line:col", "file:line" or "file", as much as is known.
func (d Diagnostic) Where() string {
	w := d.File
	if w == "" {
		w = DefaultFile
	}
	if d.Line > 0 {
		w += fmt.Sprintf(":%d", d.Line)
		if d.Col > 0 {
			w += fmt.Sprintf(":%d", d.Col)
		}
	}
	return w
}

// Diagnostics is every problem found in a project file; it is the error Load
// returns for an invalid file (exit code 2).
type Diagnostics struct {
	File string // the project file, as given
	List []Diagnostic
	More int // problems found beyond List, not shown
}

// Error lists every diagnostic, one after the other, then a summary line;
// it ends with a newline.
func (d *Diagnostics) Error() string {
	var b strings.Builder
	for _, x := range d.List {
		b.WriteString(x.String())
		b.WriteByte('\n')
	}
	if d.More > 0 {
		fmt.Fprintf(&b, "... and %d more\n", d.More)
	}
	b.WriteString(d.Summary())
	b.WriteByte('\n')
	return b.String()
}

// Summary counts the problems: "1 problem in evcli.yaml", "3 problems in
// evcli.yaml"; problems in flags or EVCLI_* variables are counted as theirs
// ("1 problem in --provider", "2 problems: 1 in evcli.yaml, 1 in --region").
func (d *Diagnostics) Summary() string {
	file := d.File
	if file == "" {
		file = DefaultFile
	}
	inFile := d.More
	var others []string // the override sources, in order, once each
	nOther := 0
	for _, x := range d.List {
		if x.File == "" || x.File == d.File {
			inFile++
			continue
		}
		nOther++
		if !slices.Contains(others, x.File) {
			others = append(others, x.File)
		}
	}
	plural := func(n int) string {
		if n == 1 {
			return "1 problem"
		}
		return fmt.Sprintf("%d problems", n)
	}
	switch {
	case nOther == 0:
		return plural(inFile) + " in " + file
	case inFile == 0:
		return plural(nOther) + " in " + strings.Join(others, " and ")
	}
	return fmt.Sprintf("%s: %d in %s, %d in %s", plural(inFile+nOther), inFile, file, nOther, strings.Join(others, " and "))
}

// sort orders the diagnostics: overrides (no position) first, then by
// line and column; the order of equal positions is kept.
func (d *Diagnostics) sort() {
	slices.SortStableFunc(d.List, func(a, b Diagnostic) int {
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Col, b.Col)
	})
}
