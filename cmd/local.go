package cmd

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/spf13/cobra"

	"github.com/evcli/evcli/cmd/cmdutil"
	"github.com/evcli/evcli/deploy"
	"github.com/evcli/evcli/project"
	"github.com/evcli/evcli/providers"
)

type serveOptions struct {
	Addr        string
	Watch       bool
	AllowRemote bool
	Quiet       bool
}

func newCmdLocal(f *cmdutil.Factory) *cobra.Command {
	c := &cobra.Command{Use: "local", Short: "Run the local provider"}
	var o serveOptions
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run the local runtime, bus and endpoints in the foreground",
		Long: `Run the project's deployed functions, its event bus and the endpoints (EventBridge
PutEvents, Lambda Invoke, evcli's own) on 127.0.0.1 until interrupted. While it runs,
evcli send, invoke and deploy in other terminals use it, so instances stay warm.
With --watch, a change to a function's sources repackages and redeploys that function.
It prints one line per request (time, operation, HTTP status, duration) on stderr;
--quiet leaves them out.`,
		Example: `  evcli local serve --watch
  aws lambda invoke --endpoint-url http://127.0.0.1:4010 --function-name inventory out.json  # with --addr 127.0.0.1:4010`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runServe(c.Context(), f, o)
		},
	}
	serve.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:0", "address of the endpoints")
	serve.Flags().BoolVar(&o.Watch, "watch", false, "redeploy a function when its sources change")
	serve.Flags().BoolVar(&o.AllowRemote, "allow-remote", false, "allow an --addr that other machines can reach")
	serve.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "print no line per request")
	c.AddCommand(serve)
	return c
}

func runServe(ctx context.Context, f *cmdutil.Factory, o serveOptions) (err error) {
	p, err := f.Project()
	if err != nil {
		return err
	}
	prov, err := openProvider(ctx, f, p, []providers.Ability{providers.AbilityServe, providers.AbilityDeploy})
	if err != nil {
		return err
	}
	defer closeProvider(ctx, waiterOf(f), prov, &err)
	var onRequest func(providers.ServedRequest)
	if !o.Quiet {
		var mu sync.Mutex
		onRequest = func(r providers.ServedRequest) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(f.IO.ErrOut, "%s %-24s %d %s\n", r.Time.Format("15:04:05"), r.Op, r.Status, r.Elapsed.Round(time.Millisecond))
		}
	}
	err = prov.Server.Serve(ctx, providers.ServeOptions{
		Addr: o.Addr, AllowRemote: o.AllowRemote, OnRequest: onRequest,
		Logf: func(format string, args ...any) { fmt.Fprintf(f.IO.ErrOut, format+"\n", args...) },
		Ready: func(info providers.ServeInfo) {
			fmt.Fprintf(f.IO.ErrOut, "%s provider listening on %s (%d functions deployed)\n", prov.Name, info.Addr, info.Functions)
			for _, n := range info.Notes {
				fmt.Fprintf(f.IO.ErrOut, "  %s\n", n)
			}
			if o.Watch {
				go watchAndRedeploy(ctx, f, p, prov.Deployer)
			}
		},
	})
	if ctx.Err() != nil {
		fmt.Fprintf(f.IO.ErrOut, "%s provider stopped\n", prov.Name)
		return nil
	}
	return err
}

// watchAndRedeploy repackages and redeploys a function shortly after its
// sources change (changes within 300 ms are taken together).
func watchAndRedeploy(ctx context.Context, f *cmdutil.Factory, p *project.Project, d providers.Deployer) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		fmt.Fprintf(f.IO.ErrOut, "watch: %v\n", err)
		return
	}
	defer w.Close()
	dirs := map[string]string{} // watched dir -> function
	for _, fn := range p.Functions {
		root := filepath.Join(p.Dir, fn.Source)
		for _, dir := range watchDirs(root) {
			if err := w.Add(dir); err == nil {
				dirs[dir] = fn.Name
			}
		}
	}
	fmt.Fprintf(f.IO.ErrOut, "watching %d directories for changes\n", len(dirs))
	var mu sync.Mutex
	timers := map[string]*time.Timer{}
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-w.Errors:
			fmt.Fprintf(f.IO.ErrOut, "watch: %v\n", err)
		case ev := <-w.Events:
			fn, ok := dirs[filepath.Dir(ev.Name)]
			if !ok || ev.Op == fsnotify.Chmod {
				continue
			}
			mu.Lock()
			if t := timers[fn]; t != nil {
				t.Stop()
			}
			timers[fn] = time.AfterFunc(300*time.Millisecond, func() { redeploy(ctx, f, p, d, fn) })
			mu.Unlock()
		}
	}
}

// redeploy runs the deploy pipeline for one function; an unchanged one is
// left alone silently.
func redeploy(ctx context.Context, f *cmdutil.Factory, p *project.Project, d providers.Deployer, fn string) {
	start := time.Now()
	sum, err := deploy.Run(ctx, d, nil, deploy.RunOptions{Project: p, Functions: []string{fn}, Getenv: f.Getenv})
	switch {
	case err != nil:
		fmt.Fprintf(f.IO.ErrOut, "%s %s: %v\n", failMark(f), fn, err)
	case len(sum.Failures) > 0:
		fmt.Fprintf(f.IO.ErrOut, "%s %s: %v\n", failMark(f), fn, sum.Failures[0].Err)
	case sum.Applied > 0:
		fmt.Fprintf(f.IO.ErrOut, "%s redeployed %s (%s)\n", okMark(f), fn, time.Since(start).Round(time.Millisecond))
	}
}
