package deploy

import (
	"context"
	"sync"
	"time"

	"github.com/evcli/evcli/providers"
)

// Progress is one step of applying one change (a function or a shared
// resource), for live progress output.
type Progress struct {
	Kind    string        `json:"kind,omitempty"` // "" for a function, else "bus", "table", ...
	Name    string        `json:"name"`
	Step    string        `json:"step"` // "start", a driver step, "done", "failed"
	Err     error         `json:"-"`
	Elapsed time.Duration `json:"-"`
}

// Label names the row: a function by name, a resource by kind and name.
func (p Progress) Label() string {
	if p.Kind == "" || p.Kind == "function" {
		return p.Name
	}
	return p.Kind + " " + p.Name
}

// Result is the outcome of applying one change.
type Result struct {
	Change  Change
	Err     error
	Elapsed time.Duration
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	Concurrency int // functions applied at once; default 4
	Progress    func(Progress)
	Now         func() time.Time
}

// Apply carries out plan with d, functions in parallel. A failure stops
// nothing else: every change gets a Result, in plan order, and running the
// same deploy again converges.
func Apply(ctx context.Context, plan []Change, d providers.Deployer, o ApplyOptions) []Result {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	progress := serialized(o.Progress)
	results := make([]Result, len(plan))
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, c := range plan {
		results[i].Change = c
		if c.Action == Unchanged {
			continue
		}
		// Take the slot here, in plan order, so that changes start in the
		// order the plan printed them.
		if err := ctx.Err(); err != nil {
			results[i].Err = err
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i].Err = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := o.Now()
			progress(Progress{Name: c.Name, Step: "start"})
			var err error
			switch c.Action {
			case Delete:
				err = d.DeleteFunction(ctx, c.Name)
			default:
				err = d.ApplyFunction(ctx, *c.Desired, c.CodeChanged, func(step string) {
					progress(Progress{Name: c.Name, Step: step, Elapsed: o.Now().Sub(start)})
				})
			}
			elapsed := o.Now().Sub(start)
			results[i].Err, results[i].Elapsed = err, elapsed
			if err != nil {
				progress(Progress{Name: c.Name, Step: "failed", Err: err, Elapsed: elapsed})
			} else {
				progress(Progress{Name: c.Name, Step: "done", Elapsed: elapsed})
			}
		}()
	}
	wg.Wait()
	return results
}

// serialized calls fn from one goroutine at a time (nil: a no-op).
func serialized(fn func(Progress)) func(Progress) {
	var mu sync.Mutex
	return func(p Progress) {
		if fn != nil {
			mu.Lock()
			defer mu.Unlock()
			fn(p)
		}
	}
}
