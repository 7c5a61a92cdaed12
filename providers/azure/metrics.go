package azure

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azmetrics"

	"github.com/evcli/evcli/providers"
)

// The metrics source of tune: Azure Monitor platform metrics of the
// function app, read in one metrics:getBatch request (azmetrics) per
// window. On Flex Consumption the billing meters are
//
//	OnDemandFunctionExecutionCount   executions (Total)
//	OnDemandFunctionExecutionUnits   MB-milliseconds of instance memory while
//	                                 instances execute (Total); / 1,024,000 = GB-s
//	AlwaysReadyFunctionExecution*    the same on always-ready instances
//	MemoryWorkingSet                 bytes the app's instances hold (Maximum)
//
// (the legacy Consumption plan's FunctionExecutionCount/FunctionExecutionUnits
// with Plan "consumption"). The metrics are per app, per minute: there is
// no per-invocation record as Lambda's REPORT line. Each minute with n
// executions and u units becomes n records of the minute's mean duration
// u / (instance memory × n) and the minute's maximum working set; when
// executions overlap on an instance the units count the instance's active
// time once, so the mean is a lower bound of the invocations' durations.
// The app's instance memory is the one memory all its functions share: a
// function's records are the app's. With the Application Insights
// requests table at hand (metricsConfig.Requests) the records are the
// function's own invocations instead, each with its duration, and only
// the memory used comes from the metrics (the app's, per interval: an
// upper bound for one function).

// Flex Consumption's metric names.
const (
	metricOnDemandCount    = "OnDemandFunctionExecutionCount"
	metricOnDemandUnits    = "OnDemandFunctionExecutionUnits"
	metricAlwaysReadyCount = "AlwaysReadyFunctionExecutionCount"
	metricAlwaysReadyUnits = "AlwaysReadyFunctionExecutionUnits"
	metricLegacyCount      = "FunctionExecutionCount"
	metricLegacyUnits      = "FunctionExecutionUnits"
	metricWorkingSet       = "MemoryWorkingSet"
	metricsNamespace       = "Microsoft.Web/sites"
	maxMetricRecords       = 10000
)

// metricsConfig configures newMetrics.
type metricsConfig struct {
	Credential azcore.TokenCredential
	// Endpoint is the regional metrics endpoint; "" derives it from Region
	// (https://<region>.metrics.monitor.azure.com).
	Endpoint, Region string
	SubscriptionID   string
	// App is the function app's resource id for a function (one app per
	// project: the same for all).
	App func(function string) string
	// InstanceMemoryMB is the app's instance memory now (512, 2048, 4096).
	InstanceMemoryMB func(ctx context.Context, function string) (int, error)
	// Plan is "flex" (default) or "consumption" (legacy meters).
	Plan string
	// Requests, when set, reads the function's invocations from
	// Application Insights' requests table: one record per invocation,
	// with its own duration and invocation id, of this function alone;
	// memory comes from the app's metrics of the invocation's minute.
	Requests *insightsLogs
	// RequestsPerSecond is the budget the source's requests share;
	// MaxBackoff caps a wait after 429.
	RequestsPerSecond float64
	MaxBackoff        time.Duration
	Now               func() time.Time
	Sleep             func(ctx context.Context, d time.Duration) error
	ClientOptions     *azmetrics.ClientOptions
}

// metricsSource reads Azure Monitor metrics of function apps.
type metricsSource struct {
	cfg    metricsConfig
	client *azmetrics.Client
	budget *azBudget
}

// newMetrics returns the metrics source of cfg; it makes no call.
func newMetrics(cfg metricsConfig) (*metricsSource, error) {
	if cfg.Endpoint == "" {
		if cfg.Region == "" {
			return nil, &providers.Error{Code: providers.Unconfigured, Resource: "azure monitor metrics", Err: errors.New("no location for the metrics endpoint"),
				Hint: "set the location (--region, evcli.yaml region or AZURE_LOCATION)"}
		}
		cfg.Endpoint = "https://" + strings.ToLower(strings.ReplaceAll(cfg.Region, " ", "")) + ".metrics.monitor.azure.com"
	}
	if cfg.SubscriptionID == "" {
		return nil, &providers.Error{Code: providers.Unconfigured, Resource: "azure monitor metrics", Err: errors.New("no subscription"),
			Hint: "set AZURE_SUBSCRIPTION_ID or the subscription in evcli.yaml"}
	}
	if cfg.Credential == nil {
		return nil, &providers.Error{Code: providers.Unauthenticated, Resource: "azure monitor metrics", Err: errors.New("no credential"),
			Hint: "sign in with az login (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)"}
	}
	if cfg.App == nil || cfg.InstanceMemoryMB == nil {
		return nil, errors.New("azure metrics: App and InstanceMemoryMB are required")
	}
	if cfg.RequestsPerSecond <= 0 {
		cfg.RequestsPerSecond = 2 // the metrics API's 12,000 calls an hour per subscription, shared with others
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = providers.Sleep
	}
	var opts azmetrics.ClientOptions
	if cfg.ClientOptions != nil {
		opts = *cfg.ClientOptions
	}
	opts.Retry = policy.RetryOptions{MaxRetries: -1} // the source backs off itself
	c, err := azmetrics.NewClient(strings.TrimRight(cfg.Endpoint, "/"), cfg.Credential, &opts)
	if err != nil {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "azure monitor metrics", Err: err}
	}
	return &metricsSource{cfg: cfg, client: c, budget: newAzBudget(cfg.RequestsPerSecond, cfg.Now, cfg.Sleep)}, nil
}

// As exposes the SDK client: **azmetrics.Client.
func (m *metricsSource) As(target any) bool {
	if p, ok := target.(**azmetrics.Client); ok {
		*p = m.client
		return true
	}
	return false
}

// metricsInterval is the grain of a window: per minute up to a day, then
// coarser, so that a week stays within the API's data points.
func metricsInterval(window time.Duration) (string, time.Duration) {
	switch {
	case window <= 24*time.Hour:
		return "PT1M", time.Minute
	case window <= 7*24*time.Hour:
		return "PT5M", 5 * time.Minute
	}
	return "PT1H", time.Hour
}

// metricBucket is one interval of the app's metrics.
type metricBucket struct {
	at                 time.Time
	count, units       float64
	workingSetMaxBytes float64
}

func (m *metricsSource) names() (count, units []string) {
	if m.cfg.Plan == "consumption" {
		return []string{metricLegacyCount}, []string{metricLegacyUnits}
	}
	return []string{metricOnDemandCount, metricAlwaysReadyCount}, []string{metricOnDemandUnits, metricAlwaysReadyUnits}
}

// buckets reads the window's metrics of the function's app, oldest first.
func (m *metricsSource) buckets(ctx context.Context, function string, since, until time.Time) ([]metricBucket, error) {
	app := m.cfg.App(function)
	counts, units := m.names()
	names := append(append(append([]string{}, counts...), units...), metricWorkingSet)
	interval, _ := metricsInterval(until.Sub(since))
	opts := &azmetrics.QueryResourcesOptions{
		StartTime:   azPtr(since.UTC().Format(time.RFC3339)),
		EndTime:     azPtr(until.UTC().Format(time.RFC3339)),
		Interval:    azPtr(interval),
		Aggregation: azPtr("total,maximum"),
	}
	res := "function app " + lastPathSegment(app)
	backoff := time.Second
	var resp azmetrics.QueryResourcesResponse
	for attempt := 0; ; attempt++ {
		if err := m.budget.wait(ctx); err != nil {
			return nil, err
		}
		var err error
		resp, err = m.client.QueryResources(ctx, m.cfg.SubscriptionID, metricsNamespace, names, azmetrics.ResourceIDList{ResourceIDs: []string{app}}, opts)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if st := statusOf(err); (st == http.StatusTooManyRequests || st >= 500) && attempt < 8 {
			d := min(backoff, m.cfg.MaxBackoff)
			if ra := azRetryAfter(err); ra > 0 {
				d = min(ra, m.cfg.MaxBackoff)
			}
			if err := m.cfg.Sleep(ctx, d); err != nil {
				return nil, err
			}
			backoff *= 2
			continue
		}
		var e *providers.Error
		if !asError(classifyIn(svcMonitor, res, err), &e) {
			return nil, err
		}
		if e.Code == providers.NotFound {
			e.Hint = "deploy the project first (evcli deploy creates the function app)"
		}
		if e.Code == providers.PermissionDenied {
			e.Hint = "the identity needs the Monitoring Reader role on the function app"
		}
		return nil, e
	}
	by := map[time.Time]*metricBucket{}
	bucket := func(t time.Time) *metricBucket {
		b := by[t]
		if b == nil {
			b = &metricBucket{at: t}
			by[t] = b
		}
		return b
	}
	for _, d := range resp.Values {
		for _, met := range d.Values {
			if met.ErrorCode != nil && *met.ErrorCode != "" && *met.ErrorCode != "Success" {
				msg := ""
				if met.ErrorMessage != nil {
					msg = *met.ErrorMessage
				}
				return nil, &providers.Error{Code: providers.Unavailable, Resource: res, Err: fmt.Errorf("metric %s: %s %s", metricName(met), *met.ErrorCode, msg)}
			}
			name := metricName(met)
			for _, ts := range met.TimeSeries {
				for _, v := range ts.Data {
					if v.TimeStamp == nil {
						continue
					}
					b := bucket(v.TimeStamp.UTC())
					switch {
					case metricListHas(counts, name):
						b.count += metricValue(v.Total)
					case metricListHas(units, name):
						b.units += metricValue(v.Total)
					case name == metricWorkingSet:
						b.workingSetMaxBytes = max(b.workingSetMaxBytes, metricValue(v.Maximum))
					}
				}
			}
		}
	}
	out := make([]metricBucket, 0, len(by))
	for _, b := range by {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out, nil
}

func metricName(m azmetrics.Metric) string {
	if m.Name != nil && m.Name.Value != nil {
		return *m.Name.Value
	}
	return ""
}

func metricListHas(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func metricValue(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// Invocations yields the function's invocations in the window as records,
// newest first, at most 10,000: from the requests table when the source
// has one (Requests), else the app's executions per minute.
func (m *metricsSource) Invocations(ctx context.Context, function string, since, until time.Time) iter.Seq2[providers.InvocationRecord, error] {
	return func(yield func(providers.InvocationRecord, error) bool) {
		mem, err := m.cfg.InstanceMemoryMB(ctx, function)
		if err != nil {
			yield(providers.InvocationRecord{}, err)
			return
		}
		bs, err := m.buckets(ctx, function, since, until)
		if err != nil {
			yield(providers.InvocationRecord{}, err)
			return
		}
		if m.cfg.Requests != nil {
			m.fromRequests(ctx, function, since, until, mem, bs, yield)
			return
		}
		n := 0
		for i := len(bs) - 1; i >= 0; i-- {
			b := bs[i]
			count := int(math.Round(b.count))
			if count <= 0 || mem <= 0 {
				continue
			}
			dur := b.units / (float64(mem) * float64(count))
			used := int(math.Ceil(b.workingSetMaxBytes / (1 << 20)))
			used = min(max(used, 1), mem)
			for k := range count {
				r := providers.InvocationRecord{
					Function: function, RequestID: fmt.Sprintf("%s#%d", b.at.Format(time.RFC3339), k+1), Time: b.at,
					DurationMs: dur, BilledDurationMs: int64(math.Ceil(dur)), MemorySizeMB: mem, MaxMemoryUsedMB: used, Outcome: "ok",
				}
				if !yield(r, nil) {
					return
				}
				if n++; n >= maxMetricRecords {
					return
				}
			}
		}
	}
}

// fromRequests yields one record per request row, its memory used the
// app's working set of the row's interval.
func (m *metricsSource) fromRequests(ctx context.Context, function string, since, until time.Time, mem int, bs []metricBucket, yield func(providers.InvocationRecord, error) bool) {
	rows, err := m.cfg.Requests.requests(ctx, function, since, until, maxMetricRecords)
	if err != nil {
		yield(providers.InvocationRecord{}, err)
		return
	}
	_, step := metricsInterval(until.Sub(since))
	used := map[time.Time]float64{}
	for _, b := range bs {
		used[b.at] = b.workingSetMaxBytes
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.id] {
			continue
		}
		seen[r.id] = true
		mb := int(math.Ceil(used[r.at.Truncate(step)] / (1 << 20)))
		rec := providers.InvocationRecord{
			Function: function, RequestID: r.id, Time: r.at, DurationMs: r.durationMs, BilledDurationMs: int64(math.Ceil(r.durationMs)),
			MemorySizeMB: mem, MaxMemoryUsedMB: min(max(mb, 1), mem), Outcome: "ok",
		}
		if !r.success {
			rec.Outcome = "error"
		}
		if !yield(rec, nil) {
			return
		}
	}
}

// InvocationTotals counts the app's executions in the window; errors and
// throttles are not among Flex Consumption's platform metrics (they are 0).
func (m *metricsSource) InvocationTotals(ctx context.Context, function string, since, until time.Time) (invocations, errs, throttles int64, err error) {
	bs, err := m.buckets(ctx, function, since, until)
	if err != nil {
		return 0, 0, 0, err
	}
	var total float64
	for _, b := range bs {
		total += b.count
	}
	return int64(math.Round(total)), 0, 0, nil
}

// GBSeconds is the window's billed execution time of the function's app,
// from the execution units (MB-ms / 1,024,000).
func (m *metricsSource) GBSeconds(ctx context.Context, function string, since, until time.Time) (float64, error) {
	bs, err := m.buckets(ctx, function, since, until)
	if err != nil {
		return 0, err
	}
	var units float64
	for _, b := range bs {
		units += b.units
	}
	return units / 1_024_000, nil
}

var (
	_ providers.MetricsSource = (*metricsSource)(nil)
	_ providers.TotalsSource  = (*metricsSource)(nil)
)
