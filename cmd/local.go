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
	"github.com/evcli/evcli/providers/local"
)

type serveOptions struct {
	Addr  string
	Watch bool
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
With --watch, a change to a function's sources repackages and redeploys that function.`,
		Example: `  evcli local serve --watch
  aws lambda invoke --endpoint-url http://127.0.0.1:4010 --function-name inventory out.json  # with --addr 127.0.0.1:4010`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runServe(c.Context(), f, o)
		},
	}
	serve.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:0", "address of the endpoints")
	serve.Flags().BoolVar(&o.Watch, "watch", false, "redeploy a function when its sources change")
	c.AddCommand(serve)
	return c
}

func runServe(ctx context.Context, f *cmdutil.Factory, o serveOptions) error {
	p, err := f.Project()
	if err != nil {
		return err
	}
	if err := providerOf(p, "local serve"); err != nil {
		return err
	}
	lo := localOptions(f, p)
	lo.Addr = o.Addr
	lo.Logf = func(format string, args ...any) { fmt.Fprintf(f.IO.ErrOut, format+"\n", args...) }
	err = local.Serve(ctx, lo, func(e *local.Engine) {
		fns, _ := e.DB().Functions(ctx)
		fmt.Fprintf(f.IO.ErrOut, "local provider listening on http://%s (%d functions deployed)\n", e.Addr(), len(fns))
		fmt.Fprintf(f.IO.ErrOut, "  PutEvents:  AWS_ENDPOINT_URL_EVENTBRIDGE=http://%s\n  Invoke:     aws lambda invoke --endpoint-url http://%s --function-name NAME out.json\n", e.Addr(), e.Addr())
		if o.Watch {
			go watchAndRedeploy(ctx, f, p, e)
		}
	})
	if ctx.Err() != nil {
		fmt.Fprintln(f.IO.ErrOut, "local provider stopped")
		return nil
	}
	return err
}

// watchAndRedeploy repackages and redeploys a function shortly after its
// sources change (changes within 300 ms are taken together).
func watchAndRedeploy(ctx context.Context, f *cmdutil.Factory, p *project.Project, e *local.Engine) {
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
	d := local.NewDeployer(e.DB(), stateDir(p), e.Reload)
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

func redeploy(ctx context.Context, f *cmdutil.Factory, p *project.Project, d *local.Deployer, fn string) {
	env, err := resolveEnvironments(f, p, []string{fn})
	if err != nil {
		fmt.Fprintf(f.IO.ErrOut, "%s: %v\n", fn, err)
		return
	}
	arts, err := deploy.Package(ctx, p, deploy.PackageOptions{Functions: []string{fn}})
	if err != nil {
		fmt.Fprintf(f.IO.ErrOut, "%s: %v\n", fn, err)
		return
	}
	if !arts[0].Changed {
		return
	}
	desired := desiredDeployments(p, arts, env)
	start := time.Now()
	if err := d.ApplyFunction(ctx, desired[0], true, nil); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "%s %s: %v\n", failMark(f), fn, err)
		return
	}
	fmt.Fprintf(f.IO.ErrOut, "%s redeployed %s (%s)\n", okMark(f), fn, time.Since(start).Round(time.Millisecond))
}
