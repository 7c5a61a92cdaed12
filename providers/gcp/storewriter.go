package gcp

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	admin "cloud.google.com/go/firestore/apiv1/admin"
	"cloud.google.com/go/firestore/apiv1/admin/adminpb"
	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/evcli/evcli/providers"
)

// The event-store writer. Nothing on Google Cloud puts the messages of a
// topic in Firestore by itself (Pub/Sub's export subscriptions write to
// BigQuery and Cloud Storage only; Eventarc has Firestore as a source, not
// a destination), so when the project has a Firestore store, deploy
// installs, next to the topic, a small Node function
// (storewriter/index.js, embedded here) with a push subscription on the
// project's topic that takes every event: it creates one document per
// event id (idempotent: a redelivery answers 409 and is dropped), with the
// aggregate id/version and correlation id read as every evcli store reads
// them, and the TTL field when store.ttlDays is set. It has no
// dependencies (Firestore's REST API through fetch), so nothing is
// installed at build time and its zip, hence its source label, is the
// same in every evcli build: an unchanged writer is not re-uploaded.
//
// The TTL itself is Firestore's TTL policy on that field of the collection
// group (Firestore Admin API UpdateField with ttl_config), planned as
// resource "ttl"; Firestore deletes expired documents within a day or so.

//go:embed storewriter/index.js
var storeWriterJS []byte

// StoreWriterFunction is the writer's name among the project's functions
// (its Cloud Function is <project>-evcli-store-writer). It is not a
// function of evcli.yaml: the plan shows it as a project resource
// ("writer"), and Deployed leaves it out.
const StoreWriterFunction = "evcli-store-writer"

// StoreWriterPattern matches every event on the bus.
const StoreWriterPattern = `{"source":[{"prefix":""}]}`

// Environment of the writer.
const (
	EnvStoreKeys         = "EVCLI_STORE_KEYS"
	EnvStoreCollection   = "EVCLI_STORE_COLLECTION"
	EnvStoreCloudProject = "EVCLI_STORE_CLOUD_PROJECT"
	EnvStoreDatabase     = "EVCLI_STORE_DATABASE"
)

// StoreWriterJS is the writer's source (tests run it).
func StoreWriterJS() []byte { return slices.Clone(storeWriterJS) }

var storeWriterZip = sync.OnceValues(func() ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		body []byte
	}{
		{"index.js", storeWriterJS},
		// package.json names no dependency: Google's Node.js buildpack adds
		// the Functions Framework itself.
		{"package.json", []byte(`{"name":"evcli-store-writer","version":"1.0.0","main":"index.js","engines":{"node":">=18"}}` + "\n")},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate,
			Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
})

// storeWriterKeys is what the writer reads from EVCLI_STORE_KEYS.
type storeWriterKeys struct {
	Aggregate string `json:"aggregate"`
	Sort      string `json:"sort"`
	ID        string `json:"id"`
	Type      string `json:"type"`
	Data      string `json:"data"`
	Version   string `json:"version"`
	TTL       string `json:"ttl,omitempty"`
	TTLDays   int    `json:"ttlDays,omitempty"`
}

// hasStore reports whether the project has a Firestore store, which the
// writer fills.
func (d *deployer) hasStore() bool { return d.store.Type == "firestore" }

// collection is the store's collection (as newFirestoreStore names it).
func (d *deployer) collection() string {
	if d.store.Table != "" {
		return d.store.Table
	}
	return "evcli-" + d.project + "-events"
}

// storeWriter is the writer's desired deployment, or nil when the project
// has no Firestore store. Its zip is written under the system's temp
// directory (content-addressed, so concurrent deploys agree).
func (d *deployer) storeWriter() (*providers.FunctionDeployment, error) {
	if !d.hasStore() {
		return nil, nil
	}
	zb, err := storeWriterZip()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(zb)
	path := filepath.Join(os.TempDir(), "evcli-gcp-store-writer-"+base64.RawURLEncoding.EncodeToString(sum[:8])+".zip")
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, zb) {
		if err := os.WriteFile(path, zb, 0o644); err != nil {
			return nil, err
		}
	}
	k := storeKeys(d.store.Keys)
	keys := storeWriterKeys{Aggregate: k.Aggregate, Sort: k.Sort, ID: k.ID, Type: k.Type, Data: k.Data, Version: k.Version}
	if d.store.TTLDays > 0 {
		keys.TTL, keys.TTLDays = k.TTL, d.store.TTLDays
	}
	kb, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	return &providers.FunctionDeployment{
		Name: StoreWriterFunction, Runtime: "nodejs22.x", Handler: "handler",
		MemoryMB: 256, TimeoutS: 60,
		ArtifactPath: path, CodeSha256: base64.StdEncoding.EncodeToString(sum[:]),
		Env: map[string]string{
			EnvStoreKeys:         string(kb),
			EnvStoreCollection:   d.collection(),
			EnvStoreCloudProject: d.c.cloudProject,
			EnvStoreDatabase:     "(default)",
		},
		Rules: []providers.RuleSpec{{ID: "all", Pattern: []byte(StoreWriterPattern)}},
	}, nil
}

// planStoreWriter compares the writer (function and subscription) with
// what is deployed: read calls only.
func (d *deployer) planStoreWriter(ctx context.Context) (*providers.ResourceChange, error) {
	fd, err := d.storeWriter()
	if fd == nil || err != nil {
		return nil, err
	}
	c := &providers.ResourceChange{Kind: "writer", Name: FunctionID(d.project, StoreWriterFunction)}
	want, err := d.desired(*fd)
	if err != nil {
		return nil, err
	}
	cur, err := d.fn.GetFunction(ctx, &functionspb.GetFunctionRequest{Name: want.Name})
	switch err := classify("function "+StoreWriterFunction, err); {
	case providers.CodeOf(err) == providers.NotFound:
		c.Action = "create"
		return c, nil
	case err != nil:
		return nil, err
	}
	if owner := cur.GetServiceConfig().GetEnvironmentVariables()[EnvProject]; owner != d.project {
		return nil, collision("function "+want.Name, owner)
	}
	fields := updateMask(cur, want, cur.Labels[LabelSource] != want.Labels[LabelSource])
	if cur.State != functionspb.Function_ACTIVE {
		fields = append(fields, "state "+cur.State.String())
	}
	sub := "projects/" + d.c.cloudProject + "/subscriptions/" + SubscriptionID(d.project, StoreWriterFunction, "all")
	s, err := d.bus.subs.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: sub})
	switch err := classify("subscription "+sub, err); {
	case providers.CodeOf(err) == providers.NotFound:
		fields = append(fields, "subscription")
	case err != nil:
		return nil, err
	case s.Topic != d.bus.topicName("") || s.GetPushConfig().GetPushEndpoint() != cur.GetServiceConfig().GetUri():
		fields = append(fields, "subscription")
	}
	c.Action, c.Fields = "unchanged", fields
	if len(fields) > 0 {
		c.Action = "update"
	}
	return c, nil
}

// applyStoreWriter carries out c (planStoreWriter's), uploading the
// source only when it is new or changed.
func (d *deployer) applyStoreWriter(ctx context.Context, c providers.ResourceChange, step func(string)) error {
	fd, err := d.storeWriter()
	if err != nil || fd == nil {
		return err
	}
	return d.ApplyFunction(ctx, *fd, c.Action == "create" || slices.Contains(c.Fields, "build_config.source"), step)
}

func isWriter(fn string) bool { return strings.EqualFold(fn, StoreWriterFunction) }

// TTL policy.

// ttlField is the Firestore Admin name of the store's TTL field.
func (d *deployer) ttlField() string {
	return "projects/" + d.c.cloudProject + "/databases/(default)/collectionGroups/" + d.collection() +
		"/fields/" + storeKeys(d.store.Keys).TTL
}

// adminClient is the Firestore Admin client, made on first use (only a
// store with a TTL needs it).
func (d *deployer) adminClient(ctx context.Context) (*admin.FirestoreAdminClient, error) {
	d.adminMu.Lock()
	defer d.adminMu.Unlock()
	if d.admin == nil {
		c, err := admin.NewFirestoreAdminClient(ctx, d.c.clientOptions(d.c.firestoreAdmin)...)
		if err != nil {
			return nil, classify("firestore admin", err)
		}
		d.admin = c
	}
	return d.admin, nil
}

// planTTL says whether the collection's TTL policy on the TTL field must
// be set: unchanged when it is ACTIVE or CREATING (Firestore takes its
// time), update otherwise. A store without ttlDays plans nothing (a
// policy set outside evcli is left alone).
func (d *deployer) planTTL(ctx context.Context) (*providers.ResourceChange, error) {
	if !d.hasStore() || d.store.TTLDays <= 0 {
		return nil, nil
	}
	ac, err := d.adminClient(ctx)
	if err != nil {
		return nil, err
	}
	name := d.ttlField()
	c := &providers.ResourceChange{Kind: "ttl", Name: d.collection() + "." + storeKeys(d.store.Keys).TTL, Action: "unchanged"}
	f, err := ac.GetField(ctx, &adminpb.GetFieldRequest{Name: name})
	if err := classify("firestore field "+name, err); err != nil && providers.CodeOf(err) != providers.NotFound {
		return nil, err
	}
	switch f.GetTtlConfig().GetState() {
	case adminpb.Field_TtlConfig_ACTIVE, adminpb.Field_TtlConfig_CREATING:
	default:
		c.Action, c.Fields = "update", []string{"Firestore TTL policy on " + storeKeys(d.store.Keys).TTL}
	}
	return c, nil
}

// applyTTL sets the TTL policy. It does not wait for the operation:
// Firestore builds a policy in minutes, and the field is CREATING (which
// planTTL counts as set) from the moment it is accepted.
func (d *deployer) applyTTL(ctx context.Context) error {
	ac, err := d.adminClient(ctx)
	if err != nil {
		return err
	}
	name := d.ttlField()
	_, err = ac.UpdateField(ctx, &adminpb.UpdateFieldRequest{
		Field:      &adminpb.Field{Name: name, TtlConfig: &adminpb.Field_TtlConfig{}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"ttl_config"}},
	})
	return classify("firestore field "+name, err)
}
