package aws

import (
	"context"
	"fmt"
	"iter"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/evcli/evcli/providers"
)

// reportQuery selects the REPORT lines of a Lambda log group, in both of
// Lambda's log formats (text "REPORT RequestId: ..." and JSON
// "platform.report"), newest first.
const reportQuery = `filter @type = "REPORT" or type = "platform.report"
| fields @timestamp, @requestId, @duration, @billedDuration, @memorySize, @maxMemoryUsed, @initDuration, @message
| sort @timestamp desc
| limit %d`

// MaxReportRows is the most REPORT lines one Logs Insights query returns;
// beyond it the records are a sample of the newest invocations and the
// counts come from CloudWatch metrics.
const MaxReportRows = 10000

// MetricsOptions configure a MetricsSource.
type MetricsOptions struct {
	// Physical maps a project's function name to its Lambda function name
	// (nil: the same).
	Physical func(function string) string
	// LogGroup names a function's log group; nil means
	// /aws/lambda/Physical(NAME).
	LogGroup func(function string) string
	// Sleep waits between GetQueryResults polls (tests make it instant);
	// nil sleeps for real, honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// PollInterval is the wait between polls; 0 means 1 s.
	PollInterval time.Duration
	// Limit caps the REPORT lines read per function; 0 means MaxReportRows.
	Limit int
}

// MetricsSource reads Lambda invocation records from CloudWatch Logs
// Insights (the REPORT lines of the function's log group) and the window's
// true counts from CloudWatch metrics (GetMetricData: Invocations, Errors,
// Throttles). It implements providers.MetricsSource and tune.TotalsSource.
type MetricsSource struct {
	logs *cloudwatchlogs.Client
	cw   *cloudwatch.Client
	opts MetricsOptions
}

// NewMetricsSource returns a MetricsSource using cfg (its BaseEndpoint, or
// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_CLOUDWATCH_LOGS / _CLOUDWATCH when cfg
// came from LoadConfig, redirects the calls).
func NewMetricsSource(cfg aws.Config, opts *MetricsOptions) *MetricsSource {
	m := &MetricsSource{logs: cloudwatchlogs.NewFromConfig(cfg), cw: cloudwatch.NewFromConfig(cfg)}
	if opts != nil {
		m.opts = *opts
	}
	if m.opts.Sleep == nil {
		m.opts.Sleep = providers.Sleep
	}
	if m.opts.PollInterval <= 0 {
		m.opts.PollInterval = time.Second
	}
	if m.opts.Limit <= 0 {
		m.opts.Limit = MaxReportRows
	}
	if m.opts.Physical == nil {
		m.opts.Physical = func(fn string) string { return fn }
	}
	if m.opts.LogGroup == nil {
		m.opts.LogGroup = func(fn string) string { return DefaultLogGroupPrefix + m.opts.Physical(fn) }
	}
	return m
}

// As gives access to the SDK clients (*cloudwatchlogs.Client, *cloudwatch.Client).
func (m *MetricsSource) As(target any) bool {
	switch t := target.(type) {
	case **cloudwatchlogs.Client:
		*t = m.logs
	case **cloudwatch.Client:
		*t = m.cw
	default:
		return false
	}
	return true
}

// Invocations runs a Logs Insights query over the function's log group and
// yields one record per REPORT line, newest first.
func (m *MetricsSource) Invocations(ctx context.Context, function string, since, until time.Time) iter.Seq2[providers.InvocationRecord, error] {
	return func(yield func(providers.InvocationRecord, error) bool) {
		rows, err := m.query(ctx, function, since, until)
		if err != nil {
			yield(providers.InvocationRecord{}, err)
			return
		}
		for _, row := range rows {
			r, ok := recordFromRow(function, row)
			if !ok {
				continue
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

func (m *MetricsSource) query(ctx context.Context, function string, since, until time.Time) ([][]logstypes.ResultField, error) {
	group := m.opts.LogGroup(function)
	start, err := m.logs.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{
		LogGroupName: aws.String(group),
		StartTime:    aws.Int64(since.Unix()),
		EndTime:      aws.Int64(until.Unix()),
		QueryString:  aws.String(fmt.Sprintf(reportQuery, m.opts.Limit)),
		Limit:        aws.Int32(int32(min(m.opts.Limit, MaxReportRows))),
	})
	if err != nil {
		return nil, wrapTuneErr("log group "+group, err)
	}
	id := aws.ToString(start.QueryId)
	done := false
	defer func() {
		if !done { // interrupted or failed: do not leave the query running
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_, _ = m.logs.StopQuery(sctx, &cloudwatchlogs.StopQueryInput{QueryId: aws.String(id)})
		}
	}()
	var rows [][]logstypes.ResultField
	var token *string
	for {
		out, err := m.logs.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String(id), NextToken: token})
		if err != nil {
			return nil, wrapTuneErr("Logs Insights query "+id, err)
		}
		switch out.Status {
		case logstypes.QueryStatusComplete:
			rows = append(rows, out.Results...)
			if out.NextToken == nil || aws.ToString(out.NextToken) == "" || len(rows) >= m.opts.Limit {
				done = true
				if len(rows) > m.opts.Limit {
					rows = rows[:m.opts.Limit]
				}
				return rows, nil
			}
			token = out.NextToken
			continue
		case logstypes.QueryStatusFailed, logstypes.QueryStatusCancelled, logstypes.QueryStatusTimeout:
			done = true
			return nil, fmt.Errorf("Logs Insights query over %s ended %s; narrow --since or retry", group, out.Status)
		}
		if err := m.opts.Sleep(ctx, m.opts.PollInterval); err != nil {
			return nil, err
		}
	}
}

// recordFromRow turns one Logs Insights row into a record. The discovered
// fields are used where present (@memorySize and @maxMemoryUsed are in
// bytes, 1 MB = 1,000,000 bytes there); the REPORT text fills the rest.
func recordFromRow(function string, row []logstypes.ResultField) (providers.InvocationRecord, bool) {
	f := map[string]string{}
	for _, c := range row {
		f[aws.ToString(c.Field)] = aws.ToString(c.Value)
	}
	r, ok := providers.ParseReportLine(f["@message"])
	if !ok {
		r = providers.InvocationRecord{Outcome: "ok"}
	}
	num := func(k string) (float64, bool) {
		v, err := strconv.ParseFloat(f[k], 64)
		return v, err == nil && !math.IsNaN(v)
	}
	have := ok
	if v, has := num("@duration"); has {
		r.DurationMs, have = v, true
	}
	if !have {
		return r, false
	}
	if v, has := num("@billedDuration"); has {
		r.BilledDurationMs = int64(v)
	}
	mb := func(v float64) int {
		if v > 20480 { // bytes
			return int(math.Round(v / 1e6))
		}
		return int(v)
	}
	if v, has := num("@memorySize"); has {
		r.MemorySizeMB = mb(v)
	}
	if v, has := num("@maxMemoryUsed"); has {
		r.MaxMemoryUsedMB = mb(v)
	}
	if v, has := num("@initDuration"); has {
		r.InitDurationMs = v
	}
	if id := f["@requestId"]; id != "" {
		r.RequestID = id
	}
	if ts := f["@timestamp"]; ts != "" {
		if t, err := time.Parse("2006-01-02 15:04:05.000", ts); err == nil {
			r.Time = t.UTC()
		}
	}
	r.Function = function
	return r, true
}

// InvocationTotals sums CloudWatch's AWS/Lambda Invocations, Errors and
// Throttles for the function over the window (hourly periods).
func (m *MetricsSource) InvocationTotals(ctx context.Context, function string, since, until time.Time) (invocations, errs, throttles int64, err error) {
	q := func(id, metric string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{
			Id: aws.String(id),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{
					Namespace:  aws.String("AWS/Lambda"),
					MetricName: aws.String(metric),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("FunctionName"), Value: aws.String(m.opts.Physical(function))}},
				},
				Period: aws.Int32(3600),
				Stat:   aws.String("Sum"),
			},
			ReturnData: aws.Bool(true),
		}
	}
	in := &cloudwatch.GetMetricDataInput{
		StartTime:         aws.Time(since.Truncate(time.Hour)),
		EndTime:           aws.Time(until),
		MetricDataQueries: []cwtypes.MetricDataQuery{q("invocations", "Invocations"), q("errors", "Errors"), q("throttles", "Throttles")},
	}
	sums := map[string]float64{}
	for page := 0; ; page++ {
		out, err := m.cw.GetMetricData(ctx, in)
		if err != nil {
			// The SDK speaks Smithy RPC v2 CBOR to CloudWatch; LocalStack
			// and other emulators may answer only the older query protocol.
			return 0, 0, 0, wrapTuneErr("CloudWatch metrics of "+function,
				fmt.Errorf("GetMetricData (CloudWatch's rpc-v2-cbor protocol; an emulator may not speak it): %w", err))
		}
		for _, r := range out.MetricDataResults {
			for _, v := range r.Values {
				sums[aws.ToString(r.Id)] += v
			}
		}
		if out.NextToken == nil || aws.ToString(out.NextToken) == "" || page > 1000 {
			break
		}
		in.NextToken = out.NextToken
	}
	return int64(math.Round(sums["invocations"])), int64(math.Round(sums["errors"])), int64(math.Round(sums["throttles"])), nil
}

var _ providers.MetricsSource = (*MetricsSource)(nil)
