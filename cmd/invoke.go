package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

type invokeOptions struct {
	Function string
	Payload  string
	Logs     bool
}

func newCmdInvoke(f *cmdutil.Factory) *cobra.Command {
	var o invokeOptions
	c := &cobra.Command{
		Use:   "invoke FUNCTION",
		Short: "Call one function",
		Long: `Call one function synchronously and print its result on stdout. --payload takes
inline JSON or @file. With --logs, the invocation's log lines (START to REPORT) go to
stderr. A function error prints Lambda's error document and exits 1.

On AWS the alias "live" is invoked (the version evcli deploy published last, or the one
evcli rollback chose); --logs prints the log tail Lambda returns (its last 4 KB).`,
		Example: `  evcli invoke inventory --payload '{"orderId":"o-1"}'
  evcli invoke payment --payload @events/order-created.json --logs`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.Function = args[0]
			return runInvoke(c.Context(), f, o)
		},
	}
	c.Flags().StringVar(&o.Payload, "payload", "{}", "JSON payload, or @file")
	c.Flags().BoolVar(&o.Logs, "logs", false, "print the invocation's log lines to stderr")
	return c
}

func runInvoke(ctx context.Context, f *cmdutil.Factory, o invokeOptions) (err error) {
	p, err := f.Project()
	if err != nil {
		return err
	}
	if err := checkFunctionName(p.Path, o.Function, p.Functions); err != nil {
		return err
	}
	payload := []byte(o.Payload)
	if strings.HasPrefix(o.Payload, "@") {
		payload, err = os.ReadFile(o.Payload[1:])
		if err != nil {
			return cmdutil.UsageError("--payload %s: %v", o.Payload, err)
		}
	}
	if !json.Valid(payload) {
		return cmdutil.UsageError("--payload is not valid JSON: pass a JSON document or @file")
	}
	prov, err := openProvider(ctx, f, p, []providers.Ability{providers.AbilityInvoke})
	if err != nil {
		return err
	}
	defer closeProvider(ctx, waiterOf(f), prov, &err)
	res, err := prov.Invoker.Invoke(ctx, o.Function, payload)
	if err != nil {
		if providers.CodeOf(err) == providers.NotFound {
			return cmdutil.UsageError("function %q is not deployed: run evcli deploy", o.Function)
		}
		return err
	}
	if f.Globals.JSON() {
		jl := cmdutil.NewJSONLines(f.IO.Out, "invoke")
		rec := map[string]any{"type": "invoke", "function": o.Function, "requestId": res.RequestID,
			"payload": json.RawMessage(orEmptyJSON(res.Payload)), "durationMs": res.DurationMs}
		if res.FunctionError != "" {
			rec["functionError"] = res.FunctionError
		}
		if o.Logs {
			rec["logs"] = res.LogTail
		}
		_ = jl.Write(rec)
	} else {
		if o.Logs {
			for _, l := range res.LogTail {
				fmt.Fprintln(f.IO.ErrOut, l)
			}
		}
		out := res.Payload
		if f.IO.IsStdoutTTY() {
			var buf bytes.Buffer
			if json.Indent(&buf, out, "", "  ") == nil {
				out = buf.Bytes()
			}
		}
		f.IO.Out.Write(out)
		if len(out) == 0 || out[len(out)-1] != '\n' {
			fmt.Fprintln(f.IO.Out)
		}
	}
	if res.FunctionError != "" {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Msg: fmt.Sprintf("function %s failed (%s)", o.Function, res.FunctionError)}
	}
	return nil
}

func orEmptyJSON(b []byte) []byte {
	if len(bytes.TrimSpace(b)) == 0 || !json.Valid(b) {
		q, _ := json.Marshal(string(b))
		return q
	}
	return b
}

// checkFunctionName is a usage error with a did-you-mean when the project at
// path has no function name.
func checkFunctionName(path, name string, fns []project.Function) error {
	names := make([]string, len(fns))
	for i, fn := range fns {
		if fn.Name == name {
			return nil
		}
		names[i] = fn.Name
	}
	msg := fmt.Sprintf("no function %q in %s", name, path)
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else if len(names) > 0 {
		msg += "; functions: " + strings.Join(names, ", ")
	}
	return cmdutil.UsageError("%s", msg)
}
