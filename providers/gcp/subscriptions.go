package gcp

import (
	"context"
	"errors"
	"strings"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/evcli/evcli/providers"
)

// Subscription labels: which project and function a rule's subscription
// belongs to.
const (
	LabelFunction = "evcli-function"
	LabelRule     = "evcli-rule"
)

// convergeRules makes fd's rules the push subscriptions on their buses'
// topics that deliver to live's URL: a missing one is created, one whose
// topic or filter changed is replaced (Pub/Sub cannot change a filter),
// one whose endpoint changed is pointed at the new URL, one of a rule that
// is gone is deleted. Only subscriptions labelled with this project and
// function are touched. Reads first; no write when nothing differs.
func (d *deployer) convergeRules(ctx context.Context, fd providers.FunctionDeployment, live *functionspb.Function, step func(string)) error {
	if step == nil {
		step = func(string) {}
	}
	b := d.bus
	want := map[string]*pubsubpb.Subscription{}
	topics := map[string]bool{b.topicName(""): true}
	endpoint := live.GetServiceConfig().GetUri()
	if endpoint == "" {
		endpoint = live.GetUrl()
	}
	for _, r := range fd.Rules {
		sub, err := d.ruleSubscription(fd, r, endpoint, live.GetServiceConfig().GetServiceAccountEmail())
		if err != nil {
			return err
		}
		topics[sub.Topic] = true
		want[sub.Name] = sub
	}
	// What exists: the subscriptions on the topics this function's rules
	// use (and the project's bus), labelled as this function's.
	prefix := "projects/" + d.c.cloudProject + "/subscriptions/" + SubscriptionID(d.project, fd.Name, "")
	have := map[string]*pubsubpb.Subscription{}
	for topic := range topics {
		it := b.topics.ListTopicSubscriptions(ctx, &pubsubpb.ListTopicSubscriptionsRequest{Topic: topic})
		for {
			name, err := it.Next()
			if errors.Is(err, iterator.Done) {
				break
			}
			if providers.CodeOf(classify("", err)) == providers.NotFound {
				break // the topic is gone: nothing of ours on it
			}
			if err != nil {
				return classify("subscriptions of "+topic, err)
			}
			if !strings.HasPrefix(name, prefix) && want[name] == nil {
				continue
			}
			sub, err := b.subs.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: name})
			if err != nil {
				return classify("subscription "+name, err)
			}
			if sub.Labels[LabelProject] == LabelValue(d.project) && sub.Labels[LabelFunction] == LabelValue(fd.Name) {
				have[name] = sub
			}
		}
	}
	for name, sub := range have {
		if w := want[name]; w == nil || w.Topic != sub.Topic || w.Filter != sub.Filter {
			step("delete subscription " + shortName(name))
			if err := b.subs.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: name}); err != nil &&
				providers.CodeOf(classify("", err)) != providers.NotFound {
				return classify("subscription "+name, err)
			}
			delete(have, name)
		}
	}
	// The push identity may invoke the function before a push arrives.
	if len(want) > 0 {
		if err := d.ensureInvoker(ctx, live.GetServiceConfig().GetService(),
			"serviceAccount:"+live.GetServiceConfig().GetServiceAccountEmail(), step); err != nil {
			return err
		}
	}
	for name, w := range want {
		cur, ok := have[name]
		if !ok {
			step("create subscription " + shortName(name))
			if _, err := b.subs.CreateSubscription(ctx, w); err != nil {
				return classify("subscription "+name, err)
			}
			continue
		}
		if cur.GetPushConfig().GetPushEndpoint() != endpoint {
			step("point subscription " + shortName(name) + " at " + endpoint)
			if err := b.subs.ModifyPushConfig(ctx, &pubsubpb.ModifyPushConfigRequest{Subscription: name, PushConfig: w.PushConfig}); err != nil {
				return classify("subscription "+name, err)
			}
		}
	}
	return nil
}

// ruleSubscription is the push subscription of fd's rule r delivering
// to endpoint with an OIDC token of account: what deploy creates and
// export writes (export.go) for the same rule.
func (d *deployer) ruleSubscription(fd providers.FunctionDeployment, r providers.RuleSpec, endpoint, account string) (*pubsubpb.Subscription, error) {
	tr, err := Translate(r.Pattern)
	if err != nil {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: fd.Name + " rule " + r.ID, Err: err}
	}
	return &pubsubpb.Subscription{
		Name:   "projects/" + d.c.cloudProject + "/subscriptions/" + SubscriptionID(d.project, fd.Name, r.ID),
		Topic:  d.bus.topicName(r.Bus),
		Filter: tr.Filter,
		Labels: map[string]string{LabelProject: LabelValue(d.project), LabelFunction: LabelValue(fd.Name), LabelRule: LabelValue(r.ID)},
		PushConfig: &pubsubpb.PushConfig{
			PushEndpoint: endpoint,
			AuthenticationMethod: &pubsubpb.PushConfig_OidcToken_{OidcToken: &pubsubpb.PushConfig_OidcToken{
				ServiceAccountEmail: account, Audience: endpoint}},
			Wrapper: &pubsubpb.PushConfig_NoWrapper_{NoWrapper: &pubsubpb.PushConfig_NoWrapper{WriteMetadata: true}},
		},
		AckDeadlineSeconds: min(600, max(10, int32(fd.TimeoutS)+10)),
		RetryPolicy:        &pubsubpb.RetryPolicy{MinimumBackoff: durationpb.New(10e9), MaximumBackoff: durationpb.New(600e9)},
	}, nil
}

func shortName(name string) string { return name[strings.LastIndex(name, "/")+1:] }
