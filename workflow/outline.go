package workflow

import (
	"fmt"
	"io"
	"strings"

	"github.com/evcli/evcli/internal/asl"
)

// Outline writes a workflow's states in the order they are written: type,
// function, where each leads, and its Retry and Catch.
func Outline(w io.Writer, name, typ, file string, def []byte) error {
	sm, diags := asl.Parse(def, asl.Options{})
	if len(diags) > 0 {
		return fmt.Errorf("workflow %s: %s", name, diags[0].Msg)
	}
	src := "saga: in evcli.yaml"
	if file != "" {
		src = file
	}
	fmt.Fprintf(w, "workflow %s (%s, from %s), starts at %s\n", name, typ, src, sm.StartAt)
	outline(w, sm, "  ")
	return nil
}

func outline(w io.Writer, sm *asl.StateMachine, indent string) {
	for _, n := range sm.Order {
		st := sm.States[n]
		var parts []string
		if st.Function != "" {
			parts = append(parts, "calls "+st.Function)
		}
		for _, r := range st.Retry {
			parts = append(parts, fmt.Sprintf("retries %s up to %d times", strings.Join(r.ErrorEquals, "/"), r.MaxAttempts))
		}
		for _, c := range st.Catch {
			parts = append(parts, fmt.Sprintf("on %s -> %s", strings.Join(c.ErrorEquals, "/"), c.Next))
		}
		for _, r := range st.Choices {
			if r.Next != "" {
				parts = append(parts, "may go to "+r.Next)
			}
		}
		if st.Default != "" {
			parts = append(parts, "else "+st.Default)
		}
		switch {
		case st.Next != "":
			parts = append(parts, "then "+st.Next)
		case st.End || st.Type == "Succeed":
			parts = append(parts, "ends")
		case st.Type == "Fail":
			parts = append(parts, "fails with "+st.Error)
		}
		fmt.Fprintf(w, "%s%-22s %-8s %s\n", indent, n, st.Type, strings.Join(parts, "; "))
		for i, b := range st.Branches {
			fmt.Fprintf(w, "%s  branch %d:\n", indent, i)
			outline(w, b, indent+"    ")
		}
		if st.Processor != nil {
			fmt.Fprintf(w, "%s  each item:\n", indent)
			outline(w, st.Processor, indent+"    ")
		}
	}
}
