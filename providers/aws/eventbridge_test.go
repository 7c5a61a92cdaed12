package aws

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/replay"
)

// putEventsServer speaks PutEvents' AWS JSON 1.1 protocol. fail returns an
// entry's error code (and whether it failed) per attempt of its detail.
type putEventsServer struct {
	t        *testing.T
	mu       sync.Mutex
	attempts map[string]int
	accepted []putEntry
	requests int
	fail     func(detail string, attempt int) string
	status   int // when set, every request fails with it
}

type putEntry struct {
	Source, DetailType, Detail, EventBusName string
	Resources                                []string
	Time                                     *float64
}

func (s *putEventsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if got := r.Header.Get("X-Amz-Target"); got != "AWSEvents.PutEvents" {
		s.t.Errorf("X-Amz-Target %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		s.t.Errorf("Content-Type %q", got)
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		s.t.Errorf("request not signed")
	}
	if s.status != 0 {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(s.status)
		fmt.Fprint(w, `{"__type":"AccessDeniedException","message":"User is not authorized to perform: events:PutEvents"}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req struct{ Entries []putEntry }
	if err := json.Unmarshal(body, &req); err != nil {
		s.t.Errorf("body %s: %v", body, err)
	}
	if len(req.Entries) > 10 {
		s.t.Errorf("%d entries in one request", len(req.Entries))
	}
	type resEntry struct {
		EventId      string `json:",omitempty"`
		ErrorCode    string `json:",omitempty"`
		ErrorMessage string `json:",omitempty"`
	}
	var res struct {
		FailedEntryCount int
		Entries          []resEntry
	}
	if s.attempts == nil {
		s.attempts = map[string]int{}
	}
	for _, e := range req.Entries {
		s.attempts[e.Detail]++
		if s.fail != nil {
			if code := s.fail(e.Detail, s.attempts[e.Detail]); code != "" {
				res.FailedEntryCount++
				res.Entries = append(res.Entries, resEntry{ErrorCode: code, ErrorMessage: "fake " + code})
				continue
			}
		}
		s.accepted = append(s.accepted, e)
		res.Entries = append(res.Entries, resEntry{EventId: fmt.Sprintf("eb-%d", len(s.accepted))})
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(res)
}

func eventBridgeClient(url string) *eventbridge.Client {
	cfg := awssdk.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		o.BaseEndpoint = awssdk.String(url)
		o.RetryMaxAttempts = 1 // the replay retries; keep the test's request count exact
	})
}

func TestEventBusPublish(t *testing.T) {
	srv := &putEventsServer{t: t, fail: func(detail string, attempt int) string {
		switch {
		case strings.Contains(detail, `"n":3`):
			return "ThrottlingException"
		case strings.Contains(detail, `"n":11`):
			return "MalformedDetail"
		}
		return ""
	}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	bus := NewEventBus(eventBridgeClient(hs.URL))
	at := time.Date(2026, 11, 26, 10, 0, 0, 500_000_000, time.UTC)
	var evs []providers.Event
	for i := range 13 {
		evs = append(evs, providers.Event{Source: "shop.orders", DetailType: "OrderPlaced", Time: at,
			Detail: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), Resources: []string{"arn:aws:x"}})
	}
	res, err := bus.Publish(context.Background(), "orders", evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 13 || srv.requests != 2 {
		t.Fatalf("%d results in %d requests", len(res), srv.requests)
	}
	for i, r := range res {
		want := ""
		switch i {
		case 3:
			want = "ThrottlingException"
		case 11:
			want = "MalformedDetail"
		}
		if r.ErrorCode != want || (want == "") != (r.EventID != "") {
			t.Errorf("result %d: %+v, want code %q", i, r, want)
		}
	}
	e := srv.accepted[0]
	if e.EventBusName != "orders" || e.Source != "shop.orders" || e.DetailType != "OrderPlaced" || e.Detail != `{"n":0}` ||
		e.Time == nil || *e.Time != 1795687200.5 || len(e.Resources) != 1 {
		t.Errorf("entry on the wire: %+v (time %v)", e, e.Time)
	}

	srv.status = http.StatusBadRequest
	_, err = bus.Publish(context.Background(), "orders", evs[:1])
	if providers.CodeOf(err) != providers.PermissionDenied || !strings.Contains(err.Error(), "eventbridge bus orders") {
		t.Errorf("denied: %v", err)
	}
}

// TestReplayToEventBridge runs the replay pipeline against the fake
// service: retryable entry failures are retried with backoff until they
// pass, non-retryable ones are reported, every other event arrives once.
func TestReplayToEventBridge(t *testing.T) {
	srv := &putEventsServer{t: t, fail: func(detail string, attempt int) string {
		switch {
		case strings.Contains(detail, `"originalId":"e-7"`) && attempt <= 2:
			return "ThrottlingException"
		case strings.Contains(detail, `"originalId":"e-21"`) && attempt == 1:
			return "InternalFailure"
		case strings.Contains(detail, `"originalId":"e-30"`):
			return "InvalidArgument"
		}
		return ""
	}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	var stored []providers.StoredEvent
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for i := range 45 {
		stored = append(stored, providers.StoredEvent{
			Event: providers.Event{ID: fmt.Sprintf("e-%d", i), Source: "shop.orders", DetailType: "OrderPlaced",
				Time: t0.Add(time.Duration(i) * time.Second), Detail: json.RawMessage(`{"i":1}`)},
			AggregateID: fmt.Sprintf("a-%d", i%4), AggregateVersion: int64(i/4 + 1),
		})
	}
	var sleeps []time.Duration
	sum, err := replay.Run(context.Background(), replay.Config{
		Name: "eb", Bus: "orders", Concurrency: 2,
		Selection: replay.Selection{Since: t0, Until: t0.Add(time.Hour)},
		Sleep:     func(ctx context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil },
	}, replaySliceStore(stored), NewEventBus(eventBridgeClient(hs.URL)), replay.NewMemCheckpoints())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Published != 44 || sum.Failed != 1 || sum.Failures[0].OriginalID != "e-30" || sum.Failures[0].Code != "InvalidArgument" {
		t.Errorf("summary %+v", sum)
	}
	seen := map[string]int{}
	for _, e := range srv.accepted {
		var d struct {
			R replay.Marker `json:"_replay"`
		}
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil || !d.R.Replayed || d.R.Name != "eb" || e.EventBusName != "orders" {
			t.Fatalf("entry %+v", e)
		}
		seen[d.R.OriginalID]++
	}
	if len(seen) != 44 {
		t.Errorf("%d distinct events accepted", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s accepted %d times", id, n)
		}
	}
	if len(sleeps) != 3 {
		t.Errorf("backoff sleeps %v, want 3 (e-7 twice, e-21 once)", sleeps)
	}
}

// TestOpenHonoursEndpointEnv: the Open functions take the endpoint, region
// and credentials from the environment, as the AWS CLI does.
func TestOpenHonoursEndpointEnv(t *testing.T) {
	srv := &putEventsServer{t: t}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	t.Setenv("AWS_ENDPOINT_URL", hs.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	if _, err := OpenEventBus(context.Background(), Options{}); providers.CodeOf(err) != providers.Unconfigured {
		t.Errorf("no region: %v", err)
	}
	bus, err := OpenEventBus(context.Background(), Options{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := bus.Publish(context.Background(), "b", []providers.Event{{Source: "s", DetailType: "d", Detail: json.RawMessage(`{}`)}})
	if err != nil || len(res) != 1 || res[0].EventID == "" || srv.requests != 1 {
		t.Fatalf("publish through AWS_ENDPOINT_URL: %+v %v", res, err)
	}
}
