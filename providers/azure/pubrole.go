package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/evcli/evcli/providers"
)

// A deployed function publishes the next step of a flow to its bus the
// way it does locally: the runtime gives it EVENTGRID_TOPIC_ENDPOINT (the
// bus topic's data-plane endpoint) and its app's system-assigned identity
// holds the built-in EventGrid Data Sender role on the topic, so a
// handler signs with a managed-identity token (no key in the settings).
// The setting is evcli's unless the project's evcli.yaml gives it (then
// the user's value is kept and compared like any variable); the role
// assignment's name is a GUID derived from scope, principal and role, so
// a second deploy finds it, and one made anew for a new principal differs.
const (
	SettingTopicEndpoint = "EVENTGRID_TOPIC_ENDPOINT"
	// settingTopicManaged records that evcli, not the project, set
	// EVENTGRID_TOPIC_ENDPOINT (so the plan keeps it out of the env).
	settingTopicManaged = "EVCLI_TOPIC_ENDPOINT"
	authzAPI            = "2022-04-01"
	// EventGridDataSender is the built-in role that may publish to a topic.
	EventGridDataSender = "d5a91429-5739-47e2-a06b-3470a27159e7"
)

// senderRoleID is the EventGrid Data Sender role definition's id.
func (d *deployer) senderRoleID() string {
	return "/subscriptions/" + d.c.subscription + "/providers/Microsoft.Authorization/roleDefinitions/" + EventGridDataSender
}

// topicEndpoint is a topic's data-plane URL: the override, else the
// topic's endpoint as ARM reports it (read once).
func (d *deployer) topicEndpoint(ctx context.Context, topic string) (string, error) {
	if d.c.eventGrid.url != "" {
		return d.c.eventGrid.resolve("", topic) + "/api/events", nil
	}
	d.mu.Lock()
	e, ok := d.endpoints[topic]
	d.mu.Unlock()
	if ok {
		return e, nil
	}
	t, err := d.topics.Get(ctx, d.rg(), topic, nil)
	if err != nil {
		err = classify("Event Grid topic "+topic, err)
		if providers.CodeOf(err) == providers.NotFound {
			err.(*providers.Error).Hint = "evcli deploy creates the bus's topic"
		}
		return "", err
	}
	if t.Properties == nil || t.Properties.Endpoint == nil {
		return "", &providers.Error{Code: providers.Unavailable, Resource: "Event Grid topic " + topic, Err: fmt.Errorf("the topic has no endpoint yet")}
	}
	d.mu.Lock()
	d.endpoints[topic] = *t.Properties.Endpoint
	d.mu.Unlock()
	return *t.Properties.Endpoint, nil
}

// publishSettings adds the bus topic's endpoint to an app's settings
// unless the project gave it.
func (d *deployer) publishSettings(ctx context.Context, fd providers.FunctionDeployment, settings map[string]string) error {
	if _, ok := fd.Env[SettingTopicEndpoint]; ok {
		return nil
	}
	e, err := d.topicEndpoint(ctx, Topic(d.bus))
	if err != nil {
		return err
	}
	settings[SettingTopicEndpoint], settings[settingTopicManaged] = e, "evcli"
	return nil
}

type roleAssignment struct {
	Name       string `json:"name"`
	Properties struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		Scope            string `json:"scope"`
	} `json:"properties"`
}

// senders are the principals holding EventGrid Data Sender on topic (at
// its scope or above), by lower-case id: one read per topic. A topic that
// does not exist yet has none.
func (d *deployer) senders(ctx context.Context, topic string) (map[string]bool, error) {
	var list struct {
		Value []roleAssignment `json:"value"`
	}
	err := d.armCall(ctx, http.MethodGet, d.topicScope(topic)+"/providers/Microsoft.Authorization/roleAssignments", authzAPI, nil, &list)
	if isNotFound(err) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, classify("role assignments of Event Grid topic "+topic, err)
	}
	out := map[string]bool{}
	for _, a := range list.Value {
		if strings.EqualFold(lastPathSegment(a.Properties.RoleDefinitionID), EventGridDataSender) {
			out[strings.ToLower(a.Properties.PrincipalID)] = true
		}
	}
	return out, nil
}

// applySenderRole gives an app's identity EventGrid Data Sender on the
// bus's topic when it lacks it: a read, then a PUT only when missing (a
// 409 RoleAssignmentExists, one made under another name, is done).
func (d *deployer) applySenderRole(ctx context.Context, app, principal string) error {
	if principal == "" {
		return &providers.Error{Code: providers.Unavailable, Resource: "function app " + app,
			Err: fmt.Errorf("the app has no managed identity to give the EventGrid Data Sender role to"), Hint: "run evcli deploy again: it gives the app its identity"}
	}
	topic := Topic(d.bus)
	have, err := d.senders(ctx, topic)
	if err != nil || have[strings.ToLower(principal)] {
		return err
	}
	scope := d.topicScope(topic)
	name := roleAssignmentName(scope, principal, EventGridDataSender)
	body := map[string]any{"properties": map[string]any{"roleDefinitionId": d.senderRoleID(), "principalId": principal, "principalType": "ServicePrincipal"}}
	res := "EventGrid Data Sender role of " + app + " on topic " + topic
	err = classify(res, d.assignRole(ctx, res, scope+"/providers/Microsoft.Authorization/roleAssignments/"+name, authzAPI, body))
	if providers.CodeOf(err) == providers.Conflict {
		return nil
	}
	return err
}

// principalRetries are the waits before each new attempt of a role
// assignment ARM refuses with PrincipalNotFound: a managed identity just
// created takes a while to replicate in Microsoft Entra ID, and Azure's
// documentation for role assignments says to retry (about three minutes
// in all here).
var principalRetries = []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 60 * time.Second, 60 * time.Second}

// assignRole PUTs a role assignment (ARM's or Cosmos DB's), retrying with
// backoff while the principal is not found yet.
func (d *deployer) assignRole(ctx context.Context, res, path, api string, body any) error {
	for attempt := 0; ; attempt++ {
		err := d.armCall(ctx, http.MethodPut, path, api, body, nil)
		var re *azcore.ResponseError
		if err == nil || !errors.As(err, &re) || re.ErrorCode != "PrincipalNotFound" {
			return err
		}
		if attempt == len(principalRetries) {
			return &providers.Error{Code: providers.Unavailable, Resource: res, Err: err,
				Hint: "the app's managed identity is not yet known to Microsoft Entra ID; run evcli deploy again in a few minutes"}
		}
		if err := d.c.sleep(ctx, principalRetries[attempt]); err != nil {
			return err
		}
	}
}
