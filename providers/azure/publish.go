package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/evcli/evcli/providers"
)

// Event Grid's data plane takes a batch of up to 1 MB (1,048,576 bytes of
// JSON) per publish, each event at most 1 MB; PublishLimits leaves room for
// the CloudEvents attributes EntrySize does not count, and Publish splits a
// batch whose encoding is over MaxBatchBytes all the same.
const (
	MaxBatchBytes  = 1 << 20
	eventGridScope = "https://eventgrid.azure.net/.default"
	eventGridAPI   = "2018-01-01"
)

// PublishLimits bound one Publish call on Azure.
var PublishLimits = providers.BatchLimits{Entries: 100, Bytes: 768 * 1024}

// CloudEvent is an event as evcli publishes it to an Event Grid topic
// (CloudEvents 1.0, JSON): source, type (the detail-type), data (the
// detail); the function's entrypoint turns it back into the envelope.
type CloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            string          `json:"time,omitempty"`
	Subject         string          `json:"subject,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
}

// ToCloudEvent is ev as evcli publishes it, or why it cannot be.
func ToCloudEvent(ev providers.Event, now time.Time) (CloudEvent, error) {
	if ev.Source == "" {
		return CloudEvent{}, errors.New("the event has no source (a CloudEvent needs one)")
	}
	if ev.DetailType == "" {
		return CloudEvent{}, errors.New("the event has no detail-type (a CloudEvent needs a type)")
	}
	data := bytes.TrimSpace(ev.Detail)
	if len(data) == 0 {
		data = []byte("{}")
	}
	if !json.Valid(data) {
		return CloudEvent{}, errors.New("the event's detail is not valid JSON")
	}
	id := ev.ID
	if id == "" {
		id = uuid.NewString()
	}
	t := ev.Time
	if t.IsZero() {
		t = now
	}
	ce := CloudEvent{SpecVersion: "1.0", ID: id, Source: ev.Source, Type: ev.DetailType, Time: t.UTC().Format(time.RFC3339Nano),
		DataContentType: "application/json", Data: data}
	if len(ev.Resources) > 0 {
		ce.Subject = ev.Resources[0]
	}
	return ce, nil
}

// bus publishes to the Event Grid topic of a bus.
type bus struct {
	c *config
	d *deployer
}

func newBus(c *config, d *deployer) *bus { return &bus{c: c, d: d} }

// Publish sends evs to the bus's topic as a CloudEvents batch. An entry
// that cannot be a CloudEvent (no source or type, a detail that is not
// JSON) fails at its index with InvalidArgument and the others are sent
// (Event Grid would refuse the whole batch for it); a batch over 1 MB is
// split. A throttled or failing call (429, 5xx) is an error of the call,
// which PublishAll retries; a batch Event Grid refuses (400, 413) fails
// each of its entries.
func (b *bus) Publish(ctx context.Context, busName string, evs []providers.Event) ([]providers.PublishResult, error) {
	out := make([]providers.PublishResult, len(evs))
	// Entries go to their own bus when the call names none (evcli send
	// leaves it to each entry's EventBusName, as PutEvents does): one
	// batch per topic, in the order the topics first appear.
	batches := map[string][]CloudEvent{}
	idxs := map[string][]int{}
	var order []string
	now := time.Now()
	for i, ev := range evs {
		ce, err := ToCloudEvent(ev, now)
		if err != nil {
			out[i] = providers.PublishResult{ErrorCode: "InvalidEvent", ErrorMsg: err.Error(), Code: providers.InvalidArgument}
			continue
		}
		name := busName
		if name == "" {
			name = ev.EventBusName
		}
		topic := Topic(name)
		if _, ok := batches[topic]; !ok {
			order = append(order, topic)
		}
		batches[topic] = append(batches[topic], ce)
		idxs[topic] = append(idxs[topic], i)
	}
	if len(order) == 0 {
		return out, nil
	}
	tok, err := b.c.token(ctx, eventGridScope)
	if err != nil {
		return nil, err
	}
	for _, topic := range order {
		endpoint, err := b.endpoint(ctx, topic)
		if err != nil {
			return nil, err
		}
		if err := b.send(ctx, endpoint, tok, batches[topic], idxs[topic], out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// send posts batch (the entries idx of out), halving it while its
// encoding is over MaxBatchBytes.
func (b *bus) send(ctx context.Context, endpoint, tok string, batch []CloudEvent, idx []int, out []providers.PublishResult) error {
	body, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	if len(body) > MaxBatchBytes && len(batch) > 1 {
		h := len(batch) / 2
		if err := b.send(ctx, endpoint, tok, batch[:h], idx[:h], out); err != nil {
			return err
		}
		return b.send(ctx, endpoint, tok, batch[h:], idx[h:], out)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"?api-version="+eventGridAPI, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents-batch+json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := b.c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &providers.Error{Code: providers.Unavailable, Resource: "Event Grid " + endpoint, Err: err}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 2:
		for j, i := range idx {
			out[i] = providers.PublishResult{EventID: batch[j].ID}
		}
		return nil
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusRequestEntityTooLarge:
		code := "BadRequest"
		if resp.StatusCode == http.StatusRequestEntityTooLarge {
			code = "PayloadTooLarge"
		}
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(msg, &e) == nil && e.Error.Code != "" {
			code, msg = e.Error.Code, []byte(e.Error.Message)
		}
		for _, i := range idx {
			out[i] = providers.PublishResult{ErrorCode: code, ErrorMsg: string(bytes.TrimSpace(msg)), Code: providers.InvalidArgument}
		}
		return nil
	}
	return classify("Event Grid topic at "+endpoint, &httpError{op: "publish", status: resp.StatusCode, body: string(bytes.TrimSpace(msg))})
}

// endpoint is the topic's data-plane URL (the deployer's, read once).
func (b *bus) endpoint(ctx context.Context, topic string) (string, error) {
	return b.d.topicEndpoint(ctx, topic)
}

var _ providers.EventBus = (*bus)(nil)
