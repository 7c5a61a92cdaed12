// Package bus publishes events to the project's bus: messages on a Pub/Sub
// topic, through Pub/Sub's REST API with the standard library only.
//
// The topic (projects/P/topics/T) comes from PUBSUB_TOPIC and the event
// source from EVENT_SOURCE (both set in evcli.yaml). Each message carries
// the event's detail as data and its source and detail-type as the
// attributes "source" and "type". In Cloud Functions the token is the
// function's service account's, from the metadata server; when
// PUBSUB_EMULATOR_HOST is set (an emulator, or evcli's local provider,
// which sets it for every function) the calls go there, without a token.
package bus

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Publisher puts events on the bus.
type Publisher struct {
	topic, source, base string
	emulator            bool
	client              *http.Client
}

// New reads the configuration from the environment.
func New() (*Publisher, error) {
	p := &Publisher{topic: os.Getenv("PUBSUB_TOPIC"), source: os.Getenv("EVENT_SOURCE"),
		base: "https://pubsub.googleapis.com", client: &http.Client{Timeout: 10 * time.Second}}
	if p.topic == "" || p.source == "" {
		return nil, fmt.Errorf("PUBSUB_TOPIC and EVENT_SOURCE must be set (see environment: in evcli.yaml)")
	}
	if h := os.Getenv("PUBSUB_EMULATOR_HOST"); h != "" {
		p.base, p.emulator = "http://"+h, true
	}
	return p, nil
}

type message struct {
	Data       string            `json:"data"`
	Attributes map[string]string `json:"attributes"`
}

// Publish puts one event with the given detail-type and detail on the bus.
func (p *Publisher) Publish(ctx context.Context, detailType string, detail any) error {
	data, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string][]message{"messages": {{
		Data:       base64.StdEncoding.EncodeToString(data),
		Attributes: map[string]string{"source": p.source, "type": detailType},
	}}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/v1/"+p.topic+":publish", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if !p.emulator {
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

// token is the function's service-account token, from the metadata server.
func (p *Publisher) token(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		"http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Metadata-Flavor", "Google")
	resp, err := p.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("metadata server: %w", err)
	}
	defer resp.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("metadata server: %s: %v", resp.Status, err)
	}
	return t.AccessToken, nil
}
