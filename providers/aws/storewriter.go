package aws

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
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/evcli/evcli/providers"
)

// The event-store writer. On AWS nothing puts the events of the bus in the
// table by itself, so deploy installs, next to the table, an EventBridge
// rule matching every event of the project's bus and a small Node function
// (storewriter/index.js, embedded here) that puts each one in the table:
// idempotent on the event, with the TTL attribute, the aggregate id and
// version read as the local store reads them, replays flagged.
//
// Why a Lambda function: EventBridge cannot target DynamoDB directly; a
// Step Functions express workflow could PutItem without code, but reading
// the aggregate id/version the way the local store does (aggregateId or
// aggregate_id, a number or a numeric string, ...) is beyond its
// intrinsic functions, and it costs more per event ($1 per million
// requests plus duration, against Lambda's $0.20 per million and a few ms
// at 128 MB). The function is built from source evcli carries, so there is
// nothing to compile and its zip (and CodeSha256) is the same in every
// build: an unchanged writer is not re-uploaded.

//go:embed storewriter/index.js
var storeWriterJS []byte

// StoreWriterFunction is the writer's name among the project's functions
// (its Lambda function is <project>-evcli-store-writer). It is not a
// function of evcli.yaml: the plan shows it as a project resource
// ("writer"), and Deployed leaves it out.
const StoreWriterFunction = "evcli-store-writer"

// StoreWriterPattern matches every event on the bus.
const StoreWriterPattern = `{"source":[{"prefix":""}]}`

// StoreWriterJS is the writer's source (tests run its item function).
func StoreWriterJS() []byte { return slices.Clone(storeWriterJS) }

var storeWriterZip = sync.OnceValues(func() ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "index.js", Method: zip.Deflate,
		Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(storeWriterJS); err != nil {
		return nil, err
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

// storeWriter is the writer's desired deployment, or nil when the project
// has no table. Its zip is written under the system's temp directory
// (content-addressed, so concurrent deploys agree).
func (d *Deployer) storeWriter() (*providers.FunctionDeployment, error) {
	t := d.o.Table
	if t == nil || t.Name == "" {
		return nil, nil
	}
	zb, err := storeWriterZip()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(zb)
	sha := base64.StdEncoding.EncodeToString(sum[:])
	path := filepath.Join(os.TempDir(), "evcli-store-writer-"+base64URL(sum[:8])+".zip")
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, zb) {
		if err := os.WriteFile(path, zb, 0o644); err != nil {
			return nil, err
		}
	}
	return writerDeployment(t, d.o.Bus, sha, path), nil
}

// json is what EVCLI_STORE_KEYS holds.
func (k storeWriterKeys) json() string {
	b, _ := json.Marshal(k)
	return string(b)
}

// planStoreWriter compares the writer with what is deployed.
func (d *Deployer) planStoreWriter(ctx context.Context) (*providers.ResourceChange, error) {
	want, err := d.storeWriter()
	if want == nil || err != nil {
		return nil, err
	}
	c := &providers.ResourceChange{Kind: "writer", Name: d.physical(StoreWriterFunction)}
	have, err := d.deployed(ctx, []string{StoreWriterFunction})
	if err != nil {
		return nil, err
	}
	if len(have) == 0 {
		c.Action = "create"
		return c, nil
	}
	h := have[0]
	var fields []string
	if h.CodeSha256 != want.CodeSha256 {
		fields = append(fields, "code changed")
	}
	if h.Runtime != want.Runtime || h.Handler != want.Handler || h.MemoryMB != want.MemoryMB || h.TimeoutS != want.TimeoutS || h.Architecture != want.Architecture {
		fields = append(fields, "configuration")
	}
	if !mapsEqualStr(h.Env, want.Env) {
		fields = append(fields, "environment")
	}
	if len(h.Rules) != 1 || compactJSON(h.Rules[0].Pattern) != compactJSON(want.Rules[0].Pattern) || normBus(h.Rules[0].Bus) != normBus(want.Rules[0].Bus) {
		fields = append(fields, "rule")
	}
	if h.Concurrency != 0 {
		fields = append(fields, "concurrency")
	}
	fields = append(fields, h.Drift...)
	sort.Strings(fields)
	c.Action, c.Fields = "unchanged", fields
	if len(fields) > 0 {
		c.Action = "update"
	}
	return c, nil
}

func (d *Deployer) applyStoreWriter(ctx context.Context, step func(string)) error {
	want, err := d.storeWriter()
	if err != nil || want == nil {
		return err
	}
	return d.ApplyFunction(ctx, *want, true, step)
}

func mapsEqualStr(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// noAggregatePrefix marks the partition key of an event stored without an
// aggregate id (the writer's NO_AGGREGATE).
const noAggregatePrefix = "evcli:event:"

func isWriter(fn string) bool { return strings.EqualFold(fn, StoreWriterFunction) }
