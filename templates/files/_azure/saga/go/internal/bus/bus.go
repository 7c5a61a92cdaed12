// Package bus publishes events to the project's bus: CloudEvents 1.0 sent
// to the bus's Event Grid topic through its data plane, with the standard
// library only.
//
// The topic endpoint (https://<topic>.<region>-1.eventgrid.azure.net/api/events)
// comes from EVENTGRID_TOPIC_ENDPOINT and the event source from
// EVENT_SOURCE. Each event is a CloudEvent whose source is EVENT_SOURCE,
// whose type is the detail-type and whose data is the detail. Requests are
// signed with the topic key EVENTGRID_TOPIC_KEY (header aeg-sas-key) when
// it is set, else with a token of the app's managed identity (which needs
// the EventGrid Data Sender role on the topic), from the identity endpoint
// App Service gives the app (IDENTITY_ENDPOINT, IDENTITY_HEADER). evcli's
// local provider sets the endpoint and key of a local topic for every
// function.
package bus

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Publisher puts events on the bus.
type Publisher struct {
	endpoint, key, source string
	client                *http.Client
}

// New reads the configuration from the environment.
func New() (*Publisher, error) {
	p := &Publisher{endpoint: os.Getenv("EVENTGRID_TOPIC_ENDPOINT"), key: os.Getenv("EVENTGRID_TOPIC_KEY"),
		source: os.Getenv("EVENT_SOURCE"), client: &http.Client{Timeout: 10 * time.Second}}
	if p.endpoint == "" || p.source == "" {
		return nil, fmt.Errorf("EVENTGRID_TOPIC_ENDPOINT (the bus topic's endpoint: az eventgrid topic show --query endpoint) and EVENT_SOURCE must be set (see environment: in evcli.yaml)")
	}
	return p, nil
}

type cloudEvent struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	Data            any    `json:"data"`
}

// Publish puts one event with the given detail-type and detail on the bus.
func (p *Publisher) Publish(ctx context.Context, detailType string, detail any) error {
	body, err := json.Marshal([]cloudEvent{{SpecVersion: "1.0", ID: newID(), Source: p.source, Type: detailType,
		Time: time.Now().UTC().Format(time.RFC3339Nano), DataContentType: "application/json", Data: detail}})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint+"?api-version=2018-01-01", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents-batch+json; charset=utf-8")
	if p.key != "" {
		req.Header.Set("aeg-sas-key", p.key)
	} else {
		tok, err := p.token(ctx)
		if err != nil {
			return fmt.Errorf("publish %s: %w", detailType, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("publish %s: %w", detailType, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("publish %s: %s: %s", detailType, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// token is a token for Event Grid of the app's managed identity.
func (p *Publisher) token(ctx context.Context) (string, error) {
	endpoint, secret := os.Getenv("IDENTITY_ENDPOINT"), os.Getenv("IDENTITY_HEADER")
	if endpoint == "" || secret == "" {
		return "", fmt.Errorf("no EVENTGRID_TOPIC_KEY and no managed identity (IDENTITY_ENDPOINT) to publish with")
	}
	q := url.Values{"resource": {"https://eventgrid.azure.net"}, "api-version": {"2019-08-01"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-IDENTITY-HEADER", secret)
	resp, err := p.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("managed identity: %w", err)
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("managed identity: %s: %v", resp.Status, err)
	}
	return t.AccessToken, nil
}

// newID is a random (version 4) UUID, the CloudEvent's id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
