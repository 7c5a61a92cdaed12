package gcp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/logging/apiv2/loggingpb"
	"google.golang.org/protobuf/proto"

	"github.com/evcli/evcli/providers"
)

// LabelTuneCopy marks a temporary copy tune memory --probe made, with the
// function it copies; copies carry no evcli-project label, so no listing
// of the project's functions (deploy, tail, tune) sees them.
const LabelTuneCopy = "evcli-tune-copy-of"

// prober implements providers.Prober (tune memory --probe) as on AWS: for
// each size a temporary copy of the live function — the same source
// (the storage object it was built from), runtime, entry point,
// environment, secrets, service account and timeout, at the size's memory
// — is created (2nd gen), invoked runs times through its URL as Invoke
// does, and deleted, whatever happens (an error, Ctrl-C: the deletion is
// registered before the create). Each record's duration is the one Cloud
// Run's request log gives the execution (as tail's REPORT lines); an
// execution whose log entry is not there after a short wait keeps the
// duration the client measured, and a warning says how many. Memory used
// is Cloud Monitoring's upper bound, as for metrics.
type prober struct {
	d       *deployer
	logs    *logSource
	metrics *metricsSource
	// suffix makes copies' names unique (6 hex digits).
	suffix func() string
}

func newProber(d *deployer, logs *logSource, metrics *metricsSource) *prober {
	return &prober{d: d, logs: logs, metrics: metrics, suffix: func() string {
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}}
}

// TuneCopyID is the id of the temporary copy of the function with id id at
// memoryMB: at most 63 characters, as Cloud Functions allows.
func TuneCopyID(id string, memoryMB int, suffix string) string {
	tail := fmt.Sprintf("-tune-%d-%s", memoryMB, suffix)
	if len(id)+len(tail) > 63 {
		id = strings.TrimRight(id[:63-len(tail)], "-")
	}
	return id + tail
}

// Probe creates a temporary copy of function at memoryMB, invokes it runs
// times with payload, reads the durations and deletes the copy.
func (p *prober) Probe(ctx context.Context, function string, memoryMB int, payload []byte, runs int) (recs []providers.InvocationRecord, err error) {
	d := p.d
	if memoryMB < 128 || memoryMB > 32768 {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: function,
			Err: fmt.Errorf("%d MB is outside Cloud Functions' 128 MB to 32 GiB", memoryMB)}
	}
	src, err := d.fn.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: d.fullName(function)})
	if err != nil {
		return nil, classify("function "+function, err)
	}
	if owner := src.GetServiceConfig().GetEnvironmentVariables()[EnvProject]; owner != d.project {
		return nil, &providers.Error{Code: providers.NotFound, Resource: "function " + function,
			Err: errors.New("no function of this project has that name"), Hint: "evcli deploy --provider gcp deploys it"}
	}
	if src.GetBuildConfig().GetSource() == nil {
		return nil, &providers.Error{Code: providers.Unavailable, Resource: "function " + function,
			Err: fmt.Errorf("the function has no source to copy (state %s)", src.State), Hint: "deploy it again, then probe"}
	}
	id := TuneCopyID(FunctionID(d.project, function), memoryMB, p.suffix())
	name := d.parent() + "/functions/" + id
	// Registered before CreateFunction: a create that succeeds on the
	// server but fails on the client (a lost answer, Ctrl-C) is deleted too.
	var creating lro
	defer func() {
		if derr := p.deleteCopy(ctx, name, creating); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	sc := src.GetServiceConfig()
	env := maps.Clone(sc.GetEnvironmentVariables())
	cp := &functionspb.Function{
		Name:        name,
		Description: "evcli tune memory: temporary copy of " + function + " at " + strconv.Itoa(memoryMB) + " MB; safe to delete",
		Labels:      map[string]string{LabelTuneCopy: LabelValue(function)},
		BuildConfig: &functionspb.BuildConfig{Runtime: src.GetBuildConfig().GetRuntime(), EntryPoint: src.GetBuildConfig().GetEntryPoint(),
			Source: proto.Clone(src.GetBuildConfig().GetSource()).(*functionspb.Source)},
		ServiceConfig: &functionspb.ServiceConfig{
			AvailableMemory:               strconv.Itoa(memoryMB) + "Mi",
			AvailableCpu:                  sc.GetAvailableCpu(),
			TimeoutSeconds:                sc.GetTimeoutSeconds(),
			EnvironmentVariables:          env,
			SecretEnvironmentVariables:    sc.GetSecretEnvironmentVariables(),
			ServiceAccountEmail:           sc.GetServiceAccountEmail(),
			MaxInstanceCount:              1,
			MaxInstanceRequestConcurrency: sc.GetMaxInstanceRequestConcurrency(),
			IngressSettings:               sc.GetIngressSettings(),
		},
	}
	op, err := d.fn.CreateFunction(ctx, &functionspb.CreateFunctionRequest{Parent: d.parent(), Function: cp, FunctionId: id})
	if err != nil {
		return nil, classify("temporary function "+id, err)
	}
	creating = op
	live, err := d.wait(ctx, id, op, func(string) {})
	if err != nil {
		return nil, err
	}
	target := live.GetServiceConfig().GetUri()
	if target == "" {
		return nil, &providers.Error{Code: providers.Unavailable, Resource: "temporary function " + id, Err: errors.New("the copy has no URL")}
	}
	start := time.Now()
	for range runs {
		res, err := d.invokeURL(ctx, "temporary function "+id, target, payload)
		if err != nil {
			return recs, err
		}
		r := providers.InvocationRecord{Function: function, RequestID: res.RequestID, Time: time.Now().UTC(),
			DurationMs: res.DurationMs, MemorySizeMB: memoryMB, Outcome: "ok"}
		if res.FunctionError != "" {
			r.Outcome = "error"
		}
		recs = append(recs, r)
	}
	if err := p.measured(ctx, id, memoryMB, start, recs); err != nil {
		return recs, err
	}
	return recs, nil
}

// measured replaces the client's round trips in recs with the durations
// of Cloud Run's request log (matched by execution id) and adds the
// memory Cloud Monitoring saw, waiting a little for the entries.
func (p *prober) measured(ctx context.Context, id string, memoryMB int, start time.Time, recs []providers.InvocationRecord) error {
	byExec := map[string]int{}
	for i, r := range recs {
		if r.RequestID != "" {
			byExec[r.RequestID] = i
		}
	}
	ids := map[string]target{id: {name: id, memoryMB: memoryMB}}
	found := map[int]bool{}
	until := time.Now().Add(time.Minute)
	for attempt, delay := 0, time.Second; ; attempt++ {
		err := p.logs.listWindow(ctx, ids, start.Add(-time.Second), time.Time{}, func(e *loggingpb.LogEntry) bool {
			if e.HttpRequest == nil {
				return true
			}
			exec := e.Labels["execution_id"]
			if exec == "" {
				exec = p.logs.line(e, ids).RequestID
			}
			i, ok := byExec[exec]
			if !ok {
				return true
			}
			ms := float64(e.HttpRequest.GetLatency().AsDuration().Microseconds()) / 1000
			recs[i].DurationMs = ms
			recs[i].BilledDurationMs = int64(math.Ceil(ms/100) * 100)
			if e.HttpRequest.Status >= 400 && recs[i].Outcome == "ok" {
				recs[i].Outcome = "error"
			}
			found[i] = true
			return true
		})
		if err != nil {
			return err
		}
		if len(found) == len(byExec) || ctx.Err() != nil || attempt >= 5 || time.Now().After(until) {
			break
		}
		if err := p.d.sleep(ctx, delay); err != nil {
			return err
		}
		delay *= 2
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if missing := len(recs) - len(found); missing > 0 && p.d.warnf != nil {
		p.d.warnf("gcp: %d of %d probe invocations of %s have no request log entry yet; their duration is the round trip evcli measured", missing, len(recs), id)
	}
	if p.metrics != nil {
		peaks, err := p.metrics.memoryPeaks(ctx, id, start, time.Now().Add(time.Minute))
		if err != nil {
			return err
		}
		for i := range recs {
			if f, ok := peaks[recs[i].Time.Truncate(time.Minute)]; ok {
				recs[i].MaxMemoryUsedMB = min(memoryMB, int(math.Ceil(f*float64(memoryMB))))
			}
		}
	}
	return nil
}

// deleteCopy deletes a temporary copy and waits for it to go, even when
// ctx is cancelled (30 s at most); a copy that is not there is not an
// error, one still being created (creating, when the create was sent) is
// deleted once that operation is done.
func (p *prober) deleteCopy(ctx context.Context, name string, creating lro) error {
	d := p.d
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	id := name[strings.LastIndex(name, "/")+1:]
	hint := fmt.Sprintf("delete it by hand: gcloud functions delete %s --region %s --gen2", id, d.c.region)
	delay := time.Second
	for attempt := 0; ; attempt++ {
		op, err := d.fn.DeleteFunction(dctx, &functionspb.DeleteFunctionRequest{Name: name})
		err = classify("temporary function "+id, err)
		switch {
		case err == nil:
			for {
				if err := op.Poll(dctx); err != nil {
					if providers.CodeOf(classify("", err)) == providers.NotFound {
						return nil
					}
					return &providers.Error{Code: providers.CodeOf(classify("", err)), Resource: "temporary function " + id, Err: err, Hint: hint}
				}
				if op.Done() {
					return nil
				}
				if err := d.sleep(dctx, delay); err != nil {
					return &providers.Error{Code: providers.Unavailable, Resource: "temporary function " + id, Err: err, Hint: hint}
				}
				delay = min(2*delay, 10*time.Second)
			}
		case providers.CodeOf(err) == providers.NotFound:
			return nil
		case providers.CodeOf(err) == providers.Conflict && attempt < 10:
			// An operation on it is in progress (its create): wait for it.
			if creating != nil && !creating.Done() {
				_, _ = creating.Poll(dctx)
				if creating.Done() {
					continue
				}
			}
			if err := d.sleep(dctx, delay); err != nil {
				return &providers.Error{Code: providers.Unavailable, Resource: "temporary function " + id, Err: err, Hint: hint}
			}
			delay = min(2*delay, 10*time.Second)
		default:
			var pe *providers.Error
			if errors.As(err, &pe) {
				pe.Hint = hint
			}
			return err
		}
	}
}

var _ providers.Prober = (*prober)(nil)
