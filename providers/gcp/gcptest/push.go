package gcptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/iterator"
)

// Push does what Pub/Sub's push delivery does, for an emulator (pstest)
// that keeps messages but pushes nothing: for every push subscription of
// cloudProject, it pulls what the subscription holds (its filter already
// applied) and POSTs each message to the push endpoint as an unwrapped
// push (the body is the message data; the attributes and
// x-goog-pubsub-* metadata are headers; an OIDC bearer token), acking
// each message the endpoint answers with 2xx and leaving the others for
// redelivery, as Pub/Sub does. A function URL of this fake runs its
// Invoke hook. It returns the number of messages acknowledged.
func Push(ctx context.Context, subs *pubsub.SubscriptionAdminClient, cloudProject string) (int, error) {
	it := subs.ListSubscriptions(ctx, &pubsubpb.ListSubscriptionsRequest{Project: "projects/" + cloudProject})
	acked := 0
	for {
		sub, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return acked, nil
		}
		if err != nil {
			return acked, err
		}
		pc := sub.GetPushConfig()
		if pc.GetPushEndpoint() == "" {
			continue
		}
		resp, err := subs.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub.Name, MaxMessages: 1000, ReturnImmediately: true})
		if err != nil {
			return acked, err
		}
		var acks, nacks []string
		for _, m := range resp.ReceivedMessages {
			ok, err := push(ctx, sub, m.Message)
			if err != nil {
				return acked, err
			}
			if ok {
				acks = append(acks, m.AckId)
			} else {
				nacks = append(nacks, m.AckId)
			}
		}
		if len(acks) > 0 {
			if err := subs.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub.Name, AckIds: acks}); err != nil {
				return acked, err
			}
			acked += len(acks)
		}
		if len(nacks) > 0 {
			if err := subs.ModifyAckDeadline(ctx, &pubsubpb.ModifyAckDeadlineRequest{Subscription: sub.Name, AckIds: nacks}); err != nil {
				return acked, err
			}
		}
	}
}

// PushTokenPrefix starts the OIDC tokens Push sends, followed by the
// subscription's service account: the fake's function URLs check that
// account's roles/run.invoker on the function's service.
const PushTokenPrefix = "gcptest-oidc:"

func push(ctx context.Context, sub *pubsubpb.Subscription, m *pubsubpb.PubsubMessage) (bool, error) {
	pc := sub.GetPushConfig()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, pc.GetPushEndpoint(), bytes.NewReader(m.Data))
	if err != nil {
		return false, err
	}
	if pc.GetNoWrapper() == nil {
		return false, fmt.Errorf("gcptest.Push delivers unwrapped pushes only; subscription %s wraps its messages", sub.Name)
	}
	if pc.GetNoWrapper().GetWriteMetadata() {
		for k, v := range m.Attributes {
			req.Header.Set(k, v)
		}
		req.Header.Set("x-goog-pubsub-subscription-name", sub.Name)
		req.Header.Set("x-goog-pubsub-message-id", m.MessageId)
		req.Header.Set("x-goog-pubsub-publish-time", m.GetPublishTime().AsTime().Format(time.RFC3339Nano))
	}
	if oidc := pc.GetOidcToken(); oidc != nil {
		req.Header.Set("Authorization", "Bearer "+PushTokenPrefix+oidc.ServiceAccountEmail)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, nil // unreachable endpoint: Pub/Sub retries later
	}
	resp.Body.Close()
	return resp.StatusCode/100 == 2, nil
}
