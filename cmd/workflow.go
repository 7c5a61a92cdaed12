package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/workflow"
)

func newCmdWorkflow(f *cmdutil.Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "workflow",
		Short: "Run and inspect orchestrated workflows (sagas in Amazon States Language)",
		Long: `Workflows are the state machines evcli.yaml's workflows: section names: an Amazon States
Language file, or the short saga: form compiled into one. The local provider runs them itself,
calling the project's deployed functions, with Retry, Catch and compensation; an execution is
durable in .evcli/state.db, and one cut short by a crash is finished by the next
"evcli workflow describe EXECUTION --wait".`,
		Example: `  evcli workflow show order --asl
  evcli workflow start order --input @events/order.json --wait
  evcli workflow executions order
  evcli workflow describe 3f0c... --wait
  evcli workflow redrive 3f0c... --wait`,
	}
	c.AddCommand(newCmdWorkflowShow(f), newCmdWorkflowStart(f, "start"), newCmdWorkflowStart(f, "run"),
		newCmdWorkflowExecutions(f), newCmdWorkflowDescribe(f), newCmdWorkflowRedrive(f))
	return c
}

// findWorkflow is the project's workflow name, or a usage error with a
// did-you-mean.
func findWorkflow(p *project.Project, name string) (*project.Workflow, error) {
	if w := p.Workflow(name); w != nil {
		return w, nil
	}
	var names []string
	for _, w := range p.Workflows {
		names = append(names, w.Name)
	}
	msg := fmt.Sprintf("no workflow %q in %s", name, p.Path)
	switch s := suggest(name, names); {
	case s != "":
		msg += fmt.Sprintf("; did you mean %q?", s)
	case len(names) > 0:
		msg += "; workflows: " + strings.Join(names, ", ")
	default:
		msg += "; add one under workflows: (see evcli.yaml's schema)"
	}
	return nil, cmdutil.UsageError("%s", msg)
}

func newCmdWorkflowShow(f *cmdutil.Factory) *cobra.Command {
	var asl bool
	c := &cobra.Command{
		Use:   "show NAME",
		Short: "Print a workflow's states, or its Amazon States Language with --asl",
		Long: `Print a workflow of evcli.yaml: its states in order with where each leads. With --asl, the
Amazon States Language evcli runs and deploys: the file as written, or the saga: form compiled.`,
		Example: `  evcli workflow show order
  evcli workflow show order --asl > order.asl.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			p, err := f.Project()
			if err != nil {
				return err
			}
			w, err := findWorkflow(p, args[0])
			if err != nil {
				return err
			}
			if asl {
				var buf bytes.Buffer
				if json.Indent(&buf, w.Definition, "", "  ") != nil {
					buf.Reset()
					buf.Write(w.Definition)
				}
				buf.WriteByte('\n')
				_, err := f.IO.Out.Write(buf.Bytes())
				return err
			}
			return workflow.Outline(f.IO.Out, w.Name, w.Type, w.DefinitionFile, w.Definition)
		},
	}
	c.Flags().BoolVar(&asl, "asl", false, "print the Amazon States Language definition")
	return c
}

type workflowStartOptions struct {
	Input string
	Name  string
	Wait  bool
}

func newCmdWorkflowStart(f *cmdutil.Factory, verb string) *cobra.Command {
	var o workflowStartOptions
	c := &cobra.Command{
		Use:   verb + " NAME",
		Short: "Start an execution of a workflow",
		Long: `Start an execution of a workflow with --input (inline JSON or @file; default {}), print its
id, and with --wait follow it: each state as it finishes (type, function, duration, outcome),
each retry, each caught error and the compensations it runs, then the result. "run" is "start
--wait". Exits 1 when the execution fails.

On the local provider the execution runs in this process (the command ends when it does); the
functions must be deployed (evcli deploy).`,
		Example: `  evcli workflow ` + verb + ` order --input '{"orderId":"o-1","amount":42}'` + map[bool]string{true: " --wait", false: ""}[verb == "start"] + `
  evcli workflow ` + verb + ` order --input @events/order-shipment-fails.json --name o-2`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if verb == "run" {
				o.Wait = true
			}
			return runWorkflowStart(c.Context(), f, args[0], o)
		},
	}
	c.Flags().StringVar(&o.Input, "input", "", "the execution's input: JSON, or @file (default {})")
	c.Flags().StringVar(&o.Name, "name", "", "the execution's name (default: a new UUID)")
	if verb == "start" {
		c.Flags().BoolVar(&o.Wait, "wait", false, "follow the execution until it ends")
	}
	return c
}

func runWorkflowStart(ctx context.Context, f *cmdutil.Factory, name string, o workflowStartOptions) (err error) {
	p, err := f.Project()
	if err != nil {
		return err
	}
	w, err := findWorkflow(p, name)
	if err != nil {
		return err
	}
	input, err := workflow.ReadInput(o.Input)
	if err != nil {
		return cmdutil.UsageError("--input: %v", err)
	}
	prov, err := openProvider(ctx, f, p, []providers.Ability{providers.AbilityWorkflow})
	if err != nil {
		return err
	}
	defer closeProvider(ctx, waiterOf(f), prov, &err)
	x, err := prov.Workflows.StartExecution(ctx, providers.WorkflowStart{Workflow: w.Name, Definition: w.Definition,
		Input: input, Name: o.Name, CorrelationID: workflow.Correlation(input, w.Correlation)})
	if err != nil {
		return err
	}
	jl := workflowJSON(f, "workflow start")
	if jl != nil {
		_ = jl.Write(executionRecord(x))
	} else {
		fmt.Fprintf(f.IO.ErrOut, "started execution %s of %s\n", x.Name, w.Name)
		if !o.Wait {
			fmt.Fprintln(f.IO.Out, x.ID)
		}
	}
	if !o.Wait {
		return nil
	}
	return followExecution(ctx, f, prov, x.ID, 0, jl)
}

// followExecution prints an execution's events after `after` as they
// happen and its end; exit 1 when it did not succeed.
func followExecution(ctx context.Context, f *cmdutil.Factory, prov *providers.Provider, id string, after int, jl *cmdutil.JSONLines) error {
	pr := &workflow.Printer{W: f.IO.Out}
	x, err := prov.Workflows.WaitExecution(ctx, id, after, func(ev providers.WorkflowEvent) {
		if jl != nil {
			_ = jl.Write(eventRecord(ev))
			return
		}
		pr.Event(ev)
	})
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(f.IO.ErrOut, "stopped following execution %s; where it runs in this process it stops at its current state, and evcli workflow describe %s --wait finishes it\n", lastPart(id), lastPart(id))
		}
		return err
	}
	return executionEnd(f, pr, x, jl)
}

func executionEnd(f *cmdutil.Factory, pr *workflow.Printer, x providers.WorkflowExecution, jl *cmdutil.JSONLines) error {
	if jl != nil {
		_ = jl.Write(executionRecord(x))
	} else {
		pr.Summary(x)
		if x.Status == "SUCCEEDED" && len(x.Output) > 0 {
			fmt.Fprintf(f.IO.Out, "output: %s\n", x.Output)
		}
	}
	if x.Status != "SUCCEEDED" && x.Finished() {
		return cmdutil.Silent(cmdutil.ExitFailure)
	}
	return nil
}

func workflowJSON(f *cmdutil.Factory, command string) *cmdutil.JSONLines {
	if !f.Globals.JSON() {
		return nil
	}
	return cmdutil.NewJSONLines(f.IO.Out, command)
}

func executionRecord(x providers.WorkflowExecution) any {
	return struct {
		Type string `json:"type"`
		providers.WorkflowExecution
	}{"execution", x}
}

func eventRecord(ev providers.WorkflowEvent) any {
	return struct {
		Type string `json:"type"`
		providers.WorkflowEvent
		Event string `json:"event"`
	}{"event", ev, ev.Type}
}

func newCmdWorkflowExecutions(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "executions [NAME]",
		Short:   "List the executions of a workflow (or of every workflow), newest first",
		Example: "  evcli workflow executions order\n  evcli workflow executions -o json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) (err error) {
			ctx := c.Context()
			p, err := f.Project()
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				w, err := findWorkflow(p, args[0])
				if err != nil {
					return err
				}
				name = w.Name
			}
			prov, err := openProvider(ctx, f, p, []providers.Ability{providers.AbilityWorkflow})
			if err != nil {
				return err
			}
			defer closeProvider(ctx, waiterOf(f), prov, &err)
			xs, err := prov.Workflows.ListExecutions(ctx, name)
			if err != nil {
				return err
			}
			if jl := workflowJSON(f, "workflow executions"); jl != nil {
				for _, x := range xs {
					_ = jl.Write(executionRecord(x))
				}
				return nil
			}
			if len(xs) == 0 {
				fmt.Fprintln(f.IO.ErrOut, "no executions")
				return nil
			}
			tw := tabwriter.NewWriter(f.IO.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tWORKFLOW\tSTATUS\tSTARTED\tDURATION\tERROR")
			for _, x := range xs {
				d := "-"
				if !x.Stopped.IsZero() {
					d = x.Stopped.Sub(x.Started).Round(time.Millisecond).String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", x.Name, x.Workflow, x.Status, x.Started.UTC().Format(time.RFC3339), d, x.Error)
			}
			return tw.Flush()
		},
	}
}

func newCmdWorkflowDescribe(f *cmdutil.Factory) *cobra.Command {
	var wait bool
	c := &cobra.Command{
		Use:   "describe EXECUTION",
		Short: "Print an execution and its history",
		Long: `Print an execution (by name or id) and its history, state by state. With --wait, follow it
until it ends; on the local provider an execution whose process died (kill -9, a crash) is
finished here, from the state that was running (which runs again: at-least-once).`,
		Example: "  evcli workflow describe o-2\n  evcli workflow describe o-2 --wait -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) (err error) {
			ctx := c.Context()
			p, err := f.Project()
			if err != nil {
				return err
			}
			prov, err := openProvider(ctx, f, p, []providers.Ability{providers.AbilityWorkflow})
			if err != nil {
				return err
			}
			defer closeProvider(ctx, waiterOf(f), prov, &err)
			x, hist, err := describeExecution(ctx, prov, args[0])
			if err != nil {
				return err
			}
			jl := workflowJSON(f, "workflow describe")
			pr := &workflow.Printer{W: f.IO.Out, Times: true}
			if jl == nil {
				fmt.Fprintf(f.IO.Out, "execution %s of %s, started %s\n", x.Name, x.Workflow, x.Started.UTC().Format(time.RFC3339))
				fmt.Fprintf(f.IO.Out, "input: %s\n", x.Input)
			}
			for _, ev := range hist {
				if jl != nil {
					_ = jl.Write(eventRecord(ev))
				} else {
					pr.Event(ev)
				}
			}
			if wait && !x.Finished() {
				after := 0
				if len(hist) > 0 {
					after = hist[len(hist)-1].Seq
				}
				x, err = prov.Workflows.WaitExecution(ctx, x.ID, after, func(ev providers.WorkflowEvent) {
					if jl != nil {
						_ = jl.Write(eventRecord(ev))
					} else {
						pr.Event(ev)
					}
				})
				if err != nil {
					return err
				}
			}
			return executionEnd(f, pr, x, jl)
		},
	}
	c.Flags().BoolVar(&wait, "wait", false, "follow the execution until it ends (and finish it if its process died)")
	return c
}

func newCmdWorkflowRedrive(f *cmdutil.Factory) *cobra.Command {
	var wait bool
	c := &cobra.Command{
		Use:   "redrive EXECUTION",
		Short: "Restart a failed execution from the state that failed",
		Long: `Redrive a FAILED, TIMED_OUT or ABORTED execution as Step Functions does: the same execution
continues from the state that did not succeed, with that state's input; the states that
succeeded before are not run again. Its redrive count goes up by one.`,
		Example: "  evcli workflow redrive o-2 --wait",
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) (err error) {
			ctx := c.Context()
			p, err := f.Project()
			if err != nil {
				return err
			}
			prov, err := openProvider(ctx, f, p, []providers.Ability{providers.AbilityWorkflow})
			if err != nil {
				return err
			}
			defer closeProvider(ctx, waiterOf(f), prov, &err)
			_, hist, err := describeExecution(ctx, prov, args[0])
			if err != nil {
				return err
			}
			x, err := prov.Workflows.RedriveExecution(ctx, args[0])
			if err != nil {
				if providers.CodeOf(err) == providers.Conflict {
					return cmdutil.UsageError("%v", err)
				}
				return err
			}
			jl := workflowJSON(f, "workflow redrive")
			if jl != nil {
				_ = jl.Write(executionRecord(x))
			} else {
				fmt.Fprintf(f.IO.ErrOut, "redriving execution %s (redrive %d)\n", x.Name, x.RedriveCount)
			}
			if !wait {
				return nil
			}
			after := 0
			if len(hist) > 0 {
				after = hist[len(hist)-1].Seq
			}
			return followExecution(ctx, f, prov, x.ID, after, jl)
		},
	}
	c.Flags().BoolVar(&wait, "wait", false, "follow the execution until it ends")
	return c
}

// lastPart is an execution's name from its id (an ARN ends in :NAME).
func lastPart(id string) string {
	if i := strings.LastIndex(id, ":"); i >= 0 {
		return id[i+1:]
	}
	return id
}

// describeExecution is the Workflows ability's DescribeExecution with an
// unknown execution as a usage error (exit 2) that says how to list them.
func describeExecution(ctx context.Context, prov *providers.Provider, name string) (providers.WorkflowExecution, []providers.WorkflowEvent, error) {
	x, hist, err := prov.Workflows.DescribeExecution(ctx, name)
	if providers.CodeOf(err) == providers.NotFound {
		return x, hist, cmdutil.UsageError("no execution %q: evcli workflow executions lists them", name)
	}
	return x, hist, err
}
