package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/appservice/armappservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/eventgrid/armeventgrid/v2"

	"github.com/evcli/evcli/providers"
)

// storageAPI is the Microsoft.Storage API version of the calls evcli makes
// through ARM directly (the account, its keys, its containers), so the
// driver does not link armstorage for four calls.
const storageAPI = "2023-05-01"

func (d *deployer) storagePath() string {
	return "/subscriptions/" + d.c.subscription + "/resourceGroups/" + d.rg() + "/providers/Microsoft.Storage/storageAccounts/" + d.c.names.StorageAccount()
}

// armCall makes one ARM call through the SDK's pipeline (credentials,
// retries of 429 and 5xx with Retry-After) and decodes the answer into
// out; a 202 is followed to its end (an asynchronous create).
func (d *deployer) armCall(ctx context.Context, method, path, api string, body, out any) error {
	req, err := runtime.NewRequest(ctx, method, runtime.JoinPaths(d.raw.Endpoint(), path))
	if err != nil {
		return err
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", api)
	req.Raw().URL.RawQuery = q.Encode()
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return err
		}
	}
	resp, err := d.raw.Pipeline().Do(req)
	if err != nil {
		return err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent) {
		return runtime.NewResponseError(resp)
	}
	if resp.StatusCode == http.StatusAccepted && method == http.MethodPut {
		poller, err := runtime.NewPoller[json.RawMessage](resp, d.raw.Pipeline(), nil)
		if err != nil {
			return err
		}
		raw, err := poller.PollUntilDone(ctx, d.pollOptions())
		if err != nil {
			return err
		}
		if out != nil && len(raw) > 0 {
			return json.Unmarshal(raw, out)
		}
		return nil
	}
	if out != nil {
		return runtime.UnmarshalAsJSON(resp, out)
	}
	return nil
}

// storageConnection is the storage account's connection string (its
// first key), read once: the apps' AzureWebJobsStorage and deployment
// storage. It is never printed.
func (d *deployer) storageConnection(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.storageCS != "" {
		return d.storageCS, nil
	}
	var keys struct {
		Keys []struct {
			KeyName, Value string
		} `json:"keys"`
	}
	account := d.c.names.StorageAccount()
	if err := d.armCall(ctx, http.MethodPost, d.storagePath()+"/listKeys", storageAPI, nil, &keys); err != nil {
		err = classify("storage account "+account, err)
		if providers.CodeOf(err) == providers.NotFound {
			err.(*providers.Error).Hint = "evcli deploy creates it with the project's shared resources"
		}
		return "", err
	}
	if len(keys.Keys) == 0 {
		return "", &providers.Error{Code: providers.PermissionDenied, Resource: "storage account " + account, Err: errors.New("listKeys returned no key (is shared-key access disabled?)")}
	}
	cs := "DefaultEndpointsProtocol=https;AccountName=" + account + ";AccountKey=" + keys.Keys[0].Value + ";EndpointSuffix=core.windows.net"
	if d.c.storage.url != "" {
		proto := "https"
		if d.c.storage.plain {
			proto = "http"
		}
		cs = "DefaultEndpointsProtocol=" + proto + ";AccountName=" + account + ";AccountKey=" + keys.Keys[0].Value +
			";BlobEndpoint=" + d.c.storage.resolve("", account)
	}
	d.storageCS = cs
	return cs, nil
}

func (d *deployer) createContainer(ctx context.Context, name string) error {
	err := d.armCall(ctx, http.MethodPut, d.storagePath()+"/blobServices/default/containers/"+name, storageAPI,
		map[string]any{"properties": map[string]any{"publicAccess": "None"}}, nil)
	return classify("deployment container "+name, err)
}

func (d *deployer) deleteContainer(ctx context.Context, name string) error {
	err := d.armCall(ctx, http.MethodDelete, d.storagePath()+"/blobServices/default/containers/"+name, storageAPI, nil, nil)
	if isNotFound(err) {
		return nil
	}
	return classify("deployment container "+name, err)
}

// PlanShared reads the project's storage account and its bus's topic and
// says which are to be created. Neither is ever deleted by evcli: a bus
// is shared by the projects that name it, and the storage account holds
// the apps' state.
func (d *deployer) PlanShared(ctx context.Context, prune bool) ([]providers.ResourceChange, error) {
	var out []providers.ResourceChange
	account := d.c.names.StorageAccount()
	var acct struct{}
	switch err := d.armCall(ctx, http.MethodGet, d.storagePath(), storageAPI, nil, &acct); {
	case isNotFound(err):
		out = append(out, providers.ResourceChange{Kind: "storage", Name: account, Action: "create"})
	case err != nil:
		return nil, classify("storage account "+account, err)
	default:
		out = append(out, providers.ResourceChange{Kind: "storage", Name: account, Action: "unchanged"})
	}
	ins, err := d.planInsights(ctx)
	if err != nil {
		return nil, err
	}
	out = append(out, ins...)
	topic := Topic(d.bus)
	t, err := d.topics.Get(ctx, d.rg(), topic, nil)
	switch {
	case isNotFound(err):
		out = append(out, providers.ResourceChange{Kind: "bus", Name: topic, Action: "create"})
	case err != nil:
		return nil, classify("Event Grid topic "+topic, err)
	default:
		if p := t.Properties; p != nil && p.InputSchema != nil && *p.InputSchema != armeventgrid.InputSchemaCloudEventSchemaV10 {
			return nil, &providers.Error{Code: providers.Conflict, Resource: "Event Grid topic " + topic,
				Err:  fmt.Errorf("the topic takes %s events; evcli publishes CloudEvents 1.0 and a topic's input schema cannot change", *p.InputSchema),
				Hint: "name another bus in evcli.yaml, or delete the topic"}
		}
		out = append(out, providers.ResourceChange{Kind: "bus", Name: topic, Action: "unchanged"})
	}
	if d.store != nil {
		c, err := d.store.plan(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		have, err := d.DeployedFunctions(ctx, []string{storeWriterFunction})
		if err != nil {
			return nil, err
		}
		var h *providers.FunctionDeployment
		if len(have) > 0 {
			h = &have[0]
		}
		out = append(out, planStoreWriter(d.c.names.App(storeWriterFunction), h, *d.writer))
		role, err := d.planWriterRole(ctx)
		if err != nil {
			return nil, err
		}
		if role != nil {
			out = append(out, *role)
		}
	}
	return out, nil
}

// ApplyShared creates what PlanShared said is missing.
func (d *deployer) ApplyShared(ctx context.Context, changes []providers.ResourceChange, step func(resource, step string)) error {
	if step == nil {
		step = func(string, string) {}
	}
	for _, c := range changes {
		switch {
		case c.Kind == "table" && d.store != nil && c.Action != "unchanged":
			step(c.Name, c.Action)
			if err := d.store.ensure(ctx, c); err != nil {
				return err
			}
			continue
		case c.Kind == "writer" && d.writer != nil && c.Action != "unchanged":
			step(c.Name, c.Action)
			code := c.Action == "create" || slices.Contains(c.Fields, "code changed")
			if err := d.apply(ctx, d.writer.Function, code, func(s string) { step(c.Name, s) }); err != nil {
				return err
			}
			continue
		case c.Kind == "role" && d.writer != nil && c.Action != "unchanged":
			step(c.Name, c.Action)
			if err := d.applyWriterRole(ctx); err != nil {
				return err
			}
			continue
		}
		if c.Action != "create" {
			continue
		}
		if d.c.location == "" {
			return &providers.Error{Code: providers.Unconfigured, Resource: c.Kind + " " + c.Name, Err: errors.New("no location is set to create it in"),
				Hint: "pass --region, set azure.location in evcli.yaml or " + envLocation + " (e.g. westeurope)"}
		}
		step(c.Name, "create")
		switch c.Kind {
		case "storage":
			body := map[string]any{"location": d.c.location, "kind": "StorageV2", "sku": map[string]string{"name": "Standard_LRS"},
				"tags":       map[string]string{TagProject: d.c.project},
				"properties": map[string]any{"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": false, "supportsHttpsTrafficOnly": true}}
			if err := d.armCall(ctx, http.MethodPut, d.storagePath(), storageAPI, body, nil); err != nil {
				return classify("storage account "+c.Name, err)
			}
		case "workspace":
			if err := d.createWorkspace(ctx, c.Name); err != nil {
				return err
			}
		case "insights":
			if err := d.createInsights(ctx, c.Name); err != nil {
				return err
			}
		case "bus":
			topic := armeventgrid.Topic{Location: to.Ptr(d.c.location), Tags: map[string]*string{TagBus: to.Ptr(d.bus)},
				Properties: &armeventgrid.TopicProperties{InputSchema: to.Ptr(armeventgrid.InputSchemaCloudEventSchemaV10)}}
			poller, err := d.topics.BeginCreateOrUpdate(ctx, d.rg(), c.Name, topic, nil)
			if err == nil {
				_, err = poller.PollUntilDone(ctx, d.pollOptions())
			}
			if err != nil {
				return classify("Event Grid topic "+c.Name, err)
			}
		}
	}
	return nil
}

func (d *deployer) topicScope(topic string) string {
	return "/subscriptions/" + d.c.subscription + "/resourceGroups/" + d.rg() + "/providers/Microsoft.EventGrid/topics/" + topic
}

// topicSubscriptions are a topic's event subscriptions by name (none when
// the topic does not exist).
func (d *deployer) topicSubscriptions(ctx context.Context, topic string) (map[string]*armeventgrid.EventSubscription, error) {
	out := map[string]*armeventgrid.EventSubscription{}
	pager := d.subs.NewListByResourcePager(d.rg(), "Microsoft.EventGrid", "topics", topic, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if isNotFound(err) {
			return out, nil
		}
		if err != nil {
			return nil, classify("event subscriptions of topic "+topic, err)
		}
		for _, s := range page.Value {
			if s != nil && s.Name != nil {
				out[*s.Name] = s
			}
		}
	}
	return out, nil
}

// subscription is the event subscription of rule r of the app s.
func (d *deployer) subscription(s *armappservice.Site, r providers.RuleSpec) (armeventgrid.EventSubscription, error) {
	tr, err := Translate(r.Pattern)
	if err != nil {
		return armeventgrid.EventSubscription{}, err
	}
	f := tr.Filter
	if !tr.Enforceable() {
		f = tr.Guarded()
	}
	b, err := json.Marshal(f)
	if err != nil {
		return armeventgrid.EventSubscription{}, err
	}
	var filter armeventgrid.EventSubscriptionFilter
	if err := json.Unmarshal(b, &filter); err != nil {
		return armeventgrid.EventSubscription{}, err
	}
	fn := EventsFunction
	if isStoreWriter(tag(s.Tags, TagFunction)) {
		fn = storeWriterFunction // the writer's package is its own (writer.go)
	}
	return armeventgrid.EventSubscription{Properties: &armeventgrid.EventSubscriptionProperties{
		Destination: &armeventgrid.AzureFunctionEventSubscriptionDestination{
			EndpointType: to.Ptr(armeventgrid.EndpointTypeAzureFunction),
			Properties: &armeventgrid.AzureFunctionEventSubscriptionDestinationProperties{
				ResourceID:                    to.Ptr(str(s.ID) + "/functions/" + fn),
				MaxEventsPerBatch:             to.Ptr(int32(1)),
				PreferredBatchSizeInKilobytes: to.Ptr(int32(64)),
			},
		},
		Filter:              &filter,
		EventDeliverySchema: to.Ptr(armeventgrid.EventDeliverySchemaCloudEventSchemaV10),
		Labels:              []*string{to.Ptr(TagProject + "=" + d.c.project), to.Ptr(TagFunction + "=" + tag(s.Tags, TagFunction)), to.Ptr("evcli-rule=" + r.ID)},
		RetryPolicy:         &armeventgrid.RetryPolicy{MaxDeliveryAttempts: to.Ptr(int32(30)), EventTimeToLiveInMinutes: to.Ptr(int32(1440))},
	}}, nil
}

// destinationOf is the function resource an event subscription delivers
// to, "" when it is not a function.
func destinationOf(s *armeventgrid.EventSubscription) string {
	if s == nil || s.Properties == nil {
		return ""
	}
	if f, ok := s.Properties.Destination.(*armeventgrid.AzureFunctionEventSubscriptionDestination); ok && f.Properties != nil {
		return str(f.Properties.ResourceID)
	}
	return ""
}

// sameSubscription reports whether got is want as far as evcli sets it.
func sameSubscription(got *armeventgrid.EventSubscription, want armeventgrid.EventSubscription) bool {
	if !strings.EqualFold(destinationOf(got), destinationOf(&want)) || got.Properties == nil {
		return false
	}
	g, w := got.Properties, want.Properties
	if str(g.EventDeliverySchema) != str(w.EventDeliverySchema) {
		return false
	}
	if !slices.Equal(labels(g.Labels), labels(w.Labels)) {
		return false
	}
	return canonical(g.Filter) == canonical(w.Filter)
}

func labels(l []*string) []string {
	out := make([]string, 0, len(l))
	for _, s := range l {
		out = append(out, str(s))
	}
	slices.Sort(out)
	return out
}

// canonical is v as JSON with sorted keys and numbers as floats.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		return ""
	}
	if m, ok := x.(map[string]any); ok {
		if l, ok := m["includedEventTypes"].([]any); ok && len(l) == 0 {
			delete(m, "includedEventTypes")
		}
	}
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(x)
	return buf.String()
}

// applySubscriptions writes the rules' event subscriptions where they
// differ and deletes the app's subscriptions for rules it no longer has.
func (d *deployer) applySubscriptions(ctx context.Context, s *armappservice.Site, fd providers.FunctionDeployment) error {
	byTopic := map[string][]providers.RuleSpec{Topic(d.bus): nil}
	for _, r := range fd.Rules {
		byTopic[Topic(r.Bus)] = append(byTopic[Topic(r.Bus)], r)
	}
	for _, topic := range slices.Sorted(maps.Keys(byTopic)) {
		rules := byTopic[topic]
		cur, err := d.topicSubscriptions(ctx, topic)
		if err != nil {
			return err
		}
		keep := map[string]bool{}
		for _, r := range rules {
			name := d.c.names.EventSubscription(r.ID)
			keep[name] = true
			want, err := d.subscription(s, r)
			if err != nil {
				return &providers.Error{Code: providers.InvalidArgument, Resource: "function " + fd.Name + " rule " + r.ID, Err: err}
			}
			if got := cur[name]; got != nil && sameSubscription(got, want) {
				continue
			}
			poller, err := d.subs.BeginCreateOrUpdate(ctx, d.topicScope(topic), name, want, nil)
			if err == nil {
				_, err = poller.PollUntilDone(ctx, d.pollOptions())
			}
			if err != nil {
				err = classify("event subscription "+name+" on topic "+topic, err)
				if providers.CodeOf(err) == providers.NotFound {
					err.(*providers.Error).Hint = "the topic " + topic + " of bus " + r.Bus + " does not exist: deploy the project that owns that bus first"
				}
				return err
			}
		}
		if err := d.deleteFrom(ctx, topic, cur, str(s.ID), keep); err != nil {
			return err
		}
	}
	return nil
}

// deleteSubscriptions deletes the subscriptions on topic that deliver to
// the app siteID, except those in keep.
func (d *deployer) deleteSubscriptions(ctx context.Context, topic, siteID string, keep map[string]bool) error {
	cur, err := d.topicSubscriptions(ctx, topic)
	if err != nil {
		return err
	}
	return d.deleteFrom(ctx, topic, cur, siteID, keep)
}

func (d *deployer) deleteFrom(ctx context.Context, topic string, cur map[string]*armeventgrid.EventSubscription, siteID string, keep map[string]bool) error {
	prefix := strings.ToLower(siteID + "/functions/")
	for _, name := range slices.Sorted(maps.Keys(cur)) {
		if keep[name] || !strings.HasPrefix(strings.ToLower(destinationOf(cur[name])), prefix) {
			continue
		}
		poller, err := d.subs.BeginDelete(ctx, d.topicScope(topic), name, nil)
		if err == nil {
			_, err = poller.PollUntilDone(ctx, d.pollOptions())
		}
		if err != nil && !isNotFound(err) {
			return classify("event subscription "+name+" on topic "+topic, err)
		}
	}
	return nil
}

var (
	_ providers.Deployer       = (*deployer)(nil)
	_ providers.SharedDeployer = (*deployer)(nil)
	_ providers.NamedReader    = (*deployer)(nil)
	_ providers.Namer          = (*deployer)(nil)
)
