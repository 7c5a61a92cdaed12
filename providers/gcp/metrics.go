package gcp

import (
	"context"
	"errors"
	"iter"
	"math"
	"time"

	"cloud.google.com/go/logging/apiv2/loggingpb"
	monitoring "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcli/evcli/providers"
)

// Metrics (tune memory). Cloud Run's request log gives each invocation's
// duration, status and request id (the same REPORT data tail shows); Cloud
// Monitoring gives memory only as the containers' utilization of their
// limit, a distribution per minute (run.googleapis.com/container/memory/
// utilizations). An invocation's MaxMemoryUsedMB is therefore the largest
// utilization of its function's containers in its minute (the upper bound
// of the highest non-empty bucket) times the memory size: an upper bound of
// what that invocation used, never less, so tune never sizes below a peak.
// An invocation in a minute Monitoring has no point for has 0 (unknown).

const memoryUtilization = "run.googleapis.com/container/memory/utilizations"

type metricsSource struct {
	logs *logSource
	mc   *monitoring.MetricClient
}

func newMetricsSource(ctx context.Context, c *config, logs *logSource) (*metricsSource, error) {
	mc, err := monitoring.NewMetricClient(ctx, c.clientOptions(c.monitoring)...)
	if err != nil {
		return nil, classify("monitoring", err)
	}
	return &metricsSource{logs: logs, mc: mc}, nil
}

func (m *metricsSource) close() error { return m.mc.Close() }

// Invocations yields the function's invocations in [since, until), in time
// order.
func (m *metricsSource) Invocations(ctx context.Context, function string, since, until time.Time) iter.Seq2[providers.InvocationRecord, error] {
	return func(yield func(providers.InvocationRecord, error) bool) {
		d := m.logs.d
		fds, err := d.DeployedFunctions(ctx, []string{function})
		if err != nil {
			yield(providers.InvocationRecord{}, err)
			return
		}
		if len(fds) == 0 {
			yield(providers.InvocationRecord{}, &providers.Error{Code: providers.NotFound, Resource: "function " + function,
				Err: errors.New("no function of this project has that name")})
			return
		}
		fd := fds[0]
		id := FunctionID(d.project, function)
		peaks, err := m.memoryPeaks(ctx, id, since, until)
		if err != nil {
			yield(providers.InvocationRecord{}, err)
			return
		}
		ids := map[string]target{id: {name: function, memoryMB: fd.MemoryMB}}
		var recs []providers.InvocationRecord
		err = m.logs.listWindow(ctx, ids, since, until, func(e *loggingpb.LogEntry) bool {
			if e.HttpRequest == nil {
				return true
			}
			line := m.logs.line(e, ids)
			r, ok := providers.ParseReportLine(line.Message)
			if !ok {
				return true
			}
			r.Function, r.Time, r.MemorySizeMB = function, line.Time, fd.MemoryMB
			// 2nd gen bills by the 100 ms.
			r.BilledDurationMs = int64(math.Ceil(r.DurationMs/100) * 100)
			if f, ok := peaks[line.Time.Truncate(time.Minute)]; ok {
				r.MaxMemoryUsedMB = min(fd.MemoryMB, int(math.Ceil(f*float64(fd.MemoryMB))))
			}
			recs = append(recs, r)
			return true
		})
		if err != nil {
			yield(providers.InvocationRecord{}, err)
			return
		}
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// memoryPeaks is, by minute, the largest memory utilization (0..1) of the
// function's containers.
func (m *metricsSource) memoryPeaks(ctx context.Context, id string, since, until time.Time) (map[time.Time]float64, error) {
	d := m.logs.d
	it := m.mc.ListTimeSeries(ctx, &monitoringpb.ListTimeSeriesRequest{
		Name:     "projects/" + d.c.cloudProject,
		Filter:   `metric.type="` + memoryUtilization + `" AND resource.type="cloud_run_revision" AND resource.labels.service_name="` + id + `"`,
		Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(since.Truncate(time.Minute)), EndTime: timestamppb.New(until)},
		View:     monitoringpb.ListTimeSeriesRequest_FULL,
	})
	out := map[time.Time]float64{}
	for {
		ts, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, classify("memory utilization of "+id, err)
		}
		for _, p := range ts.Points {
			dist := p.GetValue().GetDistributionValue()
			if dist == nil || dist.Count == 0 {
				continue
			}
			peak := dist.Mean
			if b := dist.GetBucketOptions().GetExplicitBuckets().GetBounds(); len(b) > 0 {
				for i := len(dist.BucketCounts) - 1; i >= 0; i-- {
					if dist.BucketCounts[i] > 0 {
						if i < len(b) {
							peak = b[i]
						} else {
							peak = 1 // the overflow bucket: at the limit
						}
						break
					}
				}
			}
			minute := p.GetInterval().GetStartTime().AsTime().Truncate(time.Minute)
			out[minute] = max(out[minute], min(1, peak))
		}
	}
}

var _ providers.MetricsSource = (*metricsSource)(nil)
