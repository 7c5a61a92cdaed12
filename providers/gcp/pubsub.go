package gcp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/google/uuid"

	"github.com/evcli/evcli/providers"
)

// PublishLimits are what one Publish call of the bus carries: Pub/Sub takes
// 1,000 messages and 10 MB a request; the bytes leave room for the
// envelope's fixed members and the attributes of each message.
var PublishLimits = providers.BatchLimits{Entries: 1000, Bytes: 8 << 20}

// pubSub is the project's bus on Pub/Sub: one topic, one message per event.
// The message data is the EventBridge envelope (what a target receives,
// what a pattern matches); its attributes are the CloudEvents context from
// the envelope (ce-id, ce-source, ce-type = detail-type, ce-time,
// ce-specversion), which subscription filters read and a push subscription
// without a wrapper hands to the function as a binary-mode CloudEvent.
type pubSub struct {
	topics *pubsub.TopicAdminClient
	subs   *pubsub.SubscriptionAdminClient
	c      *config
	// project and bus are evcli's project and its bus (o.Bus).
	project, bus string
	now          func() time.Time
}

func newPubSub(ctx context.Context, c *config, o providers.OpenOptions) (*pubSub, error) {
	opts := c.clientOptions(c.pubsub)
	topics, err := pubsub.NewTopicAdminClient(ctx, opts...)
	if err != nil {
		return nil, classify("pubsub", err)
	}
	subs, err := pubsub.NewSubscriptionAdminClient(ctx, opts...)
	if err != nil {
		topics.Close()
		return nil, classify("pubsub", err)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &pubSub{topics: topics, subs: subs, c: c, project: o.Project, bus: o.Bus, now: now}, nil
}

func (b *pubSub) close() error {
	return errors.Join(b.topics.Close(), b.subs.Close())
}

// As exposes the clients: **pubsub.TopicAdminClient, **pubsub.SubscriptionAdminClient.
func (b *pubSub) As(target any) bool {
	switch t := target.(type) {
	case **pubsub.TopicAdminClient:
		*t = b.topics
		return true
	case **pubsub.SubscriptionAdminClient:
		*t = b.subs
		return true
	}
	return false
}

// topicName is the full name of the topic of bus ("" = the project's).
func (b *pubSub) topicName(bus string) string {
	if bus == "" {
		bus = b.bus
	}
	return "projects/" + b.c.cloudProject + "/topics/" + TopicID(b.project, bus)
}

// Publish puts evs on bus's topic in one Publish request. An entry that
// cannot be an event (no source or detail-type, a detail that is not JSON)
// fails at its index with InvalidArgument and the others are sent; the
// error is for a request that failed as a whole. Each result's EventID is
// the event's envelope id (the one the store and the functions see); an
// event without one gets a new UUID.
func (b *pubSub) Publish(ctx context.Context, bus string, evs []providers.Event) ([]providers.PublishResult, error) {
	out := make([]providers.PublishResult, len(evs))
	groups := map[string][]int{} // topic -> indices of evs
	var order []string
	msgs := make([]*pubsubpb.PubsubMessage, len(evs))
	for i := range evs {
		ev := evs[i]
		if ev.ID == "" {
			ev.ID = uuid.NewString()
		}
		if ev.Version == "" {
			ev.Version = "0"
		}
		if ev.Time.IsZero() {
			ev.Time = b.now().UTC()
		}
		if ev.Region == "" {
			ev.Region = b.c.region
		}
		if ev.Account == "" {
			ev.Account = b.c.cloudProject
		}
		if ev.Resources == nil {
			ev.Resources = []string{}
		}
		if msg := entryProblem(&ev); msg != "" {
			out[i] = providers.PublishResult{ErrorCode: "InvalidArgument", ErrorMsg: msg, Code: providers.InvalidArgument}
			continue
		}
		env, err := providers.MarshalEnvelope(&ev)
		if err != nil {
			out[i] = providers.PublishResult{ErrorCode: "InvalidArgument", ErrorMsg: "the detail is not a JSON object: " + err.Error(), Code: providers.InvalidArgument}
			continue
		}
		msgs[i] = &pubsubpb.PubsubMessage{Data: env, Attributes: Attributes(&ev)}
		out[i].EventID = ev.ID
		name := bus
		if name == "" {
			name = ev.EventBusName
		}
		topic := b.topicName(name)
		if _, ok := groups[topic]; !ok {
			order = append(order, topic)
		}
		groups[topic] = append(groups[topic], i)
	}
	for _, topic := range order {
		idx := groups[topic]
		req := &pubsubpb.PublishRequest{Topic: topic, Messages: make([]*pubsubpb.PubsubMessage, len(idx))}
		for j, i := range idx {
			req.Messages[j] = msgs[i]
		}
		if _, err := b.topics.Publish(ctx, req); err != nil {
			err = classify("topic "+topic, err)
			if providers.CodeOf(err) == providers.NotFound {
				var pe *providers.Error
				errors.As(err, &pe)
				pe.Hint = "run evcli deploy --provider gcp: it creates the project's topic"
			}
			return nil, err
		}
	}
	return out, nil
}

// entryProblem says why ev cannot be published, or "".
func entryProblem(ev *providers.Event) string {
	switch {
	case strings.TrimSpace(ev.Source) == "":
		return "the event has no source"
	case strings.TrimSpace(ev.DetailType) == "":
		return "the event has no detail-type"
	}
	return ""
}

// Attributes are the Pub/Sub attributes of ev: its CloudEvents context.
func Attributes(ev *providers.Event) map[string]string {
	return map[string]string{
		"ce-specversion": "1.0",
		"ce-id":          ev.ID,
		"ce-source":      ev.Source,
		"ce-type":        ev.DetailType,
		"ce-time":        ev.Time.UTC().Format(time.RFC3339Nano),
	}
}

// String names the bus for messages.
func (b *pubSub) String() string { return fmt.Sprintf("pubsub topic %s", b.topicName("")) }

var _ providers.EventBus = (*pubSub)(nil)
