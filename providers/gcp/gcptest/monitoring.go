package gcptest

import (
	"context"
	"regexp"
	"sort"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/genproto/googleapis/api/distribution"
	"google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MemoryMetric is the Cloud Run metric the fake reports: each container's
// memory use as a fraction of its limit, a distribution per minute.
const MemoryMetric = "run.googleapis.com/container/memory/utilizations"

// monitoring is the Cloud Monitoring part of the fake: the memory
// utilization of each function's containers, from what its invocations
// used (Result.MemoryMB; 32 MB when the hook says nothing).
type monitoring struct {
	monitoringpb.UnimplementedMetricServiceServer
	s *Server
	// uses by service name; s.mu guards them.
	uses map[string][]memUse
}

type memUse struct {
	at       time.Time
	fraction float64
	revision string
}

var reService = regexp.MustCompile(`resource\.labels\.service_name\s*=\s*"([^"]+)"`)
var reMetric = regexp.MustCompile(`metric\.type\s*=\s*"([^"]+)"`)

// utilBuckets are the explicit bounds of the utilization distribution.
var utilBuckets = []float64{0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}

func (m *monitoring) record(service, revision string, at time.Time, usedMB, limitMB int) {
	if m.uses == nil {
		m.uses = map[string][]memUse{}
	}
	if limitMB <= 0 {
		limitMB = 256
	}
	m.uses[service] = append(m.uses[service], memUse{at: at, fraction: min(1, float64(usedMB)/float64(limitMB)), revision: revision})
}

func (m *monitoring) ListTimeSeries(_ context.Context, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	m.s.reads++
	if err := m.s.injected("ListTimeSeries"); err != nil {
		return nil, err
	}
	mt := reMetric.FindStringSubmatch(req.Filter)
	if mt == nil || mt[1] != MemoryMetric {
		return nil, status.Errorf(codes.InvalidArgument, "the fake serves %s only (filter %q)", MemoryMetric, req.Filter)
	}
	sv := reService.FindStringSubmatch(req.Filter)
	if sv == nil {
		return nil, status.Errorf(codes.InvalidArgument, "the fake wants resource.labels.service_name in the filter %q", req.Filter)
	}
	if req.Interval == nil || req.Interval.EndTime == nil {
		return nil, status.Error(codes.InvalidArgument, "interval.end_time is required")
	}
	start, end := req.Interval.StartTime.AsTime(), req.Interval.EndTime.AsTime()
	// One point per minute with uses, newest first, as Monitoring returns them.
	byMinute := map[time.Time][]float64{}
	var revision string
	for _, u := range m.uses[sv[1]] {
		if u.at.Before(start) || u.at.After(end) {
			continue
		}
		minute := u.at.Truncate(time.Minute)
		byMinute[minute] = append(byMinute[minute], u.fraction)
		revision = u.revision
	}
	if len(byMinute) == 0 {
		return &monitoringpb.ListTimeSeriesResponse{}, nil
	}
	ts := &monitoringpb.TimeSeries{
		Metric:     &metric.Metric{Type: MemoryMetric},
		Resource:   &monitoredres.MonitoredResource{Type: "cloud_run_revision", Labels: map[string]string{"service_name": sv[1], "revision_name": revision}},
		MetricKind: metric.MetricDescriptor_DELTA, ValueType: metric.MetricDescriptor_DISTRIBUTION,
	}
	minutes := make([]time.Time, 0, len(byMinute))
	for t := range byMinute {
		minutes = append(minutes, t)
	}
	sort.Slice(minutes, func(i, j int) bool { return minutes[i].After(minutes[j]) })
	for _, t := range minutes {
		d := &distribution.Distribution{BucketOptions: &distribution.Distribution_BucketOptions{
			Options: &distribution.Distribution_BucketOptions_ExplicitBuckets{ExplicitBuckets: &distribution.Distribution_BucketOptions_Explicit{Bounds: utilBuckets}}},
			BucketCounts: make([]int64, len(utilBuckets)+1)}
		sum := 0.0
		for _, f := range byMinute[t] {
			i := sort.SearchFloat64s(utilBuckets, f)
			if i < len(utilBuckets) && utilBuckets[i] == f {
				i++ // bucket i holds [bounds[i-1], bounds[i])
			}
			d.BucketCounts[i]++
			d.Count++
			sum += f
		}
		d.Mean = sum / float64(d.Count)
		ts.Points = append(ts.Points, &monitoringpb.Point{
			Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(t), EndTime: timestamppb.New(t.Add(time.Minute))},
			Value:    &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DistributionValue{DistributionValue: d}},
		})
	}
	return &monitoringpb.ListTimeSeriesResponse{TimeSeries: []*monitoringpb.TimeSeries{ts}}, nil
}
