package azure

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/evcli/evcli/providers"
)

func eventGridPosts(e *testEnv) int {
	n := 0
	for _, c := range e.h.fake.Calls() {
		if strings.HasPrefix(c.Path, "/eventgrid/") {
			n++
		}
	}
	return n
}

// TestPublishCloudEvents: what reaches the topic is a CloudEvents 1.0
// batch with the envelope's members where the entrypoint reads them.
func TestPublishCloudEvents(t *testing.T) {
	e := newTestEnv(t, "ce", nil)
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	res, err := e.p.Bus.Publish(e.ctx, "ce-bus", []providers.Event{{ID: "id-1", Source: "ct.shop", DetailType: "OrderPlaced", Time: at,
		Resources: []string{"order/1"}, Detail: json.RawMessage(`{"n":1}`)}})
	if err != nil || len(res) != 1 || res[0].EventID != "id-1" || res[0].ErrorCode != "" {
		t.Fatalf("Publish = %+v, %v", res, err)
	}
	got := e.h.fake.Published(Topic("ce-bus"))
	want := `{"specversion":"1.0","id":"id-1","source":"ct.shop","type":"OrderPlaced","time":"2026-03-04T05:06:07Z","subject":"order/1","datacontenttype":"application/json","data":{"n":1}}`
	if len(got) != 1 || string(got[0]) != want {
		t.Errorf("published %s\nwant %s", got, want)
	}
}

// TestPublishToEachEntrysBus: a call that names no bus (evcli send leaves
// it to each entry, as PutEvents does) sends every entry to its own bus's
// topic.
func TestPublishToEachEntrysBus(t *testing.T) {
	e := newTestEnv(t, "each", nil)
	// Opening a project on other-bus makes its topic, as its first deploy would.
	po, err := e.h.Open(e.ctx, providers.OpenOptions{Project: "each", Bus: "other-bus"})
	if err != nil {
		t.Fatal(err)
	}
	defer po.Close(e.ctx)
	res, err := e.p.Bus.Publish(e.ctx, "", []providers.Event{
		{ID: "a", Source: "s", DetailType: "T", EventBusName: "each-bus", Detail: json.RawMessage(`{}`)},
		{ID: "b", Source: "s", DetailType: "T", EventBusName: "other-bus", Detail: json.RawMessage(`{}`)},
		{ID: "c", Source: "s", DetailType: "T", EventBusName: "each-bus", Detail: json.RawMessage(`{}`)},
	})
	if err != nil || len(res) != 3 {
		t.Fatalf("Publish = %+v, %v", res, err)
	}
	for i, r := range res {
		if r.ErrorCode != "" || r.EventID != string(rune('a'+i)) {
			t.Errorf("entry %d: %+v", i, r)
		}
	}
	if got := e.h.fake.Published(Topic("each-bus")); len(got) != 2 {
		t.Errorf("each-bus's topic got %d events, want 2: %s", len(got), got)
	}
	if got := e.h.fake.Published(Topic("other-bus")); len(got) != 1 {
		t.Errorf("other-bus's topic got %d events, want 1: %s", len(got), got)
	}
	if got := e.h.fake.Published(Topic("")); len(got) != 0 {
		t.Errorf("the default topic got %s", got)
	}
}

// TestPublishSplitsOverOneMegabyte: a batch whose encoding is over Event
// Grid's 1 MB is sent in parts, and every entry gets its result.
func TestPublishSplitsOverOneMegabyte(t *testing.T) {
	e := newTestEnv(t, "split", nil)
	pad := `{"pad":"` + strings.Repeat("x", 200*1024) + `"}`
	var evs []providers.Event
	for range 6 {
		evs = append(evs, providers.Event{Source: "ct.size", DetailType: "Big", Detail: json.RawMessage(pad)})
	}
	res, err := e.p.Bus.Publish(e.ctx, "split-bus", evs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.ErrorCode != "" || r.EventID == "" {
			t.Errorf("entry %d: %+v", i, r)
		}
	}
	if n := eventGridPosts(e); n != 2 {
		t.Errorf("%d posts for 1.2 MB, want 2", n)
	}
	if n := len(e.h.fake.Published(Topic("split-bus"))); n != 6 {
		t.Errorf("the topic has %d events, want 6", n)
	}
}

// TestPublishThrottledIsRetried: a 429 fails the call as Throttled, which
// PublishAll sends again.
func TestPublishThrottledIsRetried(t *testing.T) {
	e := newTestEnv(t, "throttle", nil)
	e.h.fake.Fail("POST", "/eventgrid/", 429, "TooManyRequests", "1", 1)
	evs := []providers.Event{{Source: "ct.a", DetailType: "A", Detail: json.RawMessage(`{}`)}, {Source: "ct.a", DetailType: "B"}}
	rep, err := providers.PublishAll(e.ctx, e.p.Bus, "throttle-bus", evs, e.p.BusLimits,
		providers.RetryPolicy{Sleep: func(ctx context.Context, d time.Duration) error { return nil }})
	if err != nil || rep.Failed() != 0 {
		t.Fatalf("PublishAll = %+v, %v", rep, err)
	}
	if rep.Attempts[0] != 2 || eventGridPosts(e) != 2 {
		t.Errorf("attempts %v, posts %d: want the call retried once", rep.Attempts, eventGridPosts(e))
	}
}

// TestPublishRefusedBatchFailsItsEntries: Event Grid refuses a whole batch
// (400): each of its entries fails with Event Grid's code, not retried.
func TestPublishRefusedBatchFailsItsEntries(t *testing.T) {
	e := newTestEnv(t, "refused", nil)
	e.h.fake.Fail("POST", "/eventgrid/", 400, "InvalidEvent", "", 1)
	res, err := e.p.Bus.Publish(e.ctx, "refused-bus", []providers.Event{{Source: "a", DetailType: "A"}, {Source: "a", DetailType: "B"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.ErrorCode != "InvalidEvent" || r.Code != providers.InvalidArgument {
			t.Errorf("entry %d = %+v, want InvalidEvent / InvalidArgument", i, r)
		}
	}
}

// TestPublishNoTopic: publishing to a bus that was never deployed is
// NotFound for the call.
func TestPublishNoTopic(t *testing.T) {
	e := newTestEnv(t, "notopic", nil)
	_, err := e.p.Bus.Publish(e.ctx, "never-deployed", []providers.Event{{Source: "a", DetailType: "A"}})
	if providers.CodeOf(err) != providers.NotFound {
		t.Errorf("Publish to a missing topic = %v (code %v), want NotFound", err, providers.CodeOf(err))
	}
}
