package aztest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// MetricsServer is a fake of the Azure Monitor metrics data plane's batch
// query (POST /subscriptions/{sub}/metrics:getBatch, API 2024-02-01, the
// call azmetrics makes) over HTTPS on 127.0.0.1. It keeps points of a
// resource's metrics and answers with them aggregated per interval (total
// sums, maximum takes the largest), refusing a metric name the resource
// type does not have with 400 as the service does. Throttle makes the next
// requests answer 429 with Retry-After.
type MetricsServer struct {
	srv *httptest.Server

	mu       sync.Mutex
	points   map[string]map[string][]MetricPoint // resource id (lower case) -> metric -> points
	valid    []string
	throttle int
	requests int
}

// MetricPoint is one raw observation of a metric.
type MetricPoint struct {
	Time           time.Time
	Total, Maximum float64
}

// FlexMetrics are the Microsoft.Web/sites metrics the fake knows for a
// Flex Consumption app.
var FlexMetrics = []string{"OnDemandFunctionExecutionCount", "OnDemandFunctionExecutionUnits",
	"AlwaysReadyFunctionExecutionCount", "AlwaysReadyFunctionExecutionUnits", "AlwaysReadyUnits", "MemoryWorkingSet"}

// NewMetrics starts a MetricsServer whose resources have the metrics valid
// (FlexMetrics when nil); Close stops it.
func NewMetrics(valid []string) *MetricsServer {
	if valid == nil {
		valid = FlexMetrics
	}
	s := &MetricsServer{points: map[string]map[string][]MetricPoint{}, valid: valid}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the server's base URL (the regional metrics endpoint).
func (s *MetricsServer) URL() string { return s.srv.URL }

// Client is an HTTP client that trusts the server's certificate.
func (s *MetricsServer) Client() *http.Client { return s.srv.Client() }

// Close stops the server.
func (s *MetricsServer) Close() { s.srv.Close() }

// Add records points of a resource's metric.
func (s *MetricsServer) Add(resourceID, metric string, ps ...MetricPoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := strings.ToLower(resourceID)
	if s.points[id] == nil {
		s.points[id] = map[string][]MetricPoint{}
	}
	s.points[id][metric] = append(s.points[id][metric], ps...)
}

// Throttle makes the next n requests answer 429.
func (s *MetricsServer) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Requests is how many requests the server has answered.
func (s *MetricsServer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

var isoIntervals = map[string]time.Duration{"PT1M": time.Minute, "PT5M": 5 * time.Minute, "PT15M": 15 * time.Minute,
	"PT30M": 30 * time.Minute, "PT1H": time.Hour, "PT6H": 6 * time.Hour, "PT12H": 12 * time.Hour, "P1D": 24 * time.Hour}

func (s *MetricsServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	throttled := s.throttle > 0
	if throttled {
		s.throttle--
	}
	s.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method != http.MethodPost || len(parts) != 3 || parts[0] != "subscriptions" || parts[2] != "metrics:getBatch" {
		metricsError(w, http.StatusNotFound, "NotFound", "no such operation: "+r.Method+" "+r.URL.Path)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		metricsError(w, http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return
	}
	if throttled {
		w.Header().Set("Retry-After", "2")
		metricsError(w, http.StatusTooManyRequests, "TooManyRequests", "The request was throttled")
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") != "2024-02-01" {
		metricsError(w, http.StatusBadRequest, "BadRequest", "unsupported api-version "+q.Get("api-version"))
		return
	}
	start, err1 := time.Parse(time.RFC3339, q.Get("starttime"))
	end, err2 := time.Parse(time.RFC3339, q.Get("endtime"))
	step, ok := isoIntervals[q.Get("interval")]
	if err1 != nil || err2 != nil || !ok || !end.After(start) {
		metricsError(w, http.StatusBadRequest, "BadRequest", "starttime, endtime and interval must be an ISO 8601 window and a supported grain")
		return
	}
	names := strings.Split(q.Get("metricnames"), ",")
	for _, n := range names {
		if !slices.Contains(s.valid, n) {
			metricsError(w, http.StatusBadRequest, "BadRequest", "Failed to find metric configuration for provider: Microsoft.Web, resource Type: sites, metric: "+n+", Valid metrics: "+strings.Join(s.valid, ","))
			return
		}
	}
	if q.Get("metricnamespace") != "Microsoft.Web/sites" {
		metricsError(w, http.StatusBadRequest, "BadRequest", "metricnamespace must be Microsoft.Web/sites here")
		return
	}
	var body struct {
		ResourceIDs []string `json:"resourceids"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.ResourceIDs) == 0 {
		metricsError(w, http.StatusBadRequest, "BadRequest", "the body must name resourceids")
		return
	}
	var values []any
	s.mu.Lock()
	for _, id := range body.ResourceIDs {
		var metrics []any
		for _, n := range names {
			var data []any
			for t := start.Truncate(step); t.Before(end); t = t.Add(step) {
				var total, maxv float64
				for _, p := range s.points[strings.ToLower(id)][n] {
					if !p.Time.Before(t) && p.Time.Before(t.Add(step)) && !p.Time.Before(start) && p.Time.Before(end) {
						total += p.Total
						maxv = max(maxv, p.Maximum)
					}
				}
				data = append(data, map[string]any{"timeStamp": t.UTC().Format(time.RFC3339), "total": total, "maximum": maxv})
			}
			metrics = append(metrics, map[string]any{
				"id": id + "/providers/Microsoft.Insights/metrics/" + n, "type": "Microsoft.Insights/metrics",
				"name": map[string]string{"value": n, "localizedValue": n}, "unit": "Count", "errorCode": "Success",
				"timeseries": []any{map[string]any{"metadatavalues": []any{}, "data": data}},
			})
		}
		values = append(values, map[string]any{"starttime": start.UTC().Format(time.RFC3339), "endtime": end.UTC().Format(time.RFC3339),
			"interval": q.Get("interval"), "namespace": "Microsoft.Web/sites", "resourceregion": "eastus", "resourceid": id, "value": metrics})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"values": values})
}

func metricsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}
