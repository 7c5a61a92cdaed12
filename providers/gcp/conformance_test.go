package gcp

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/functions/apiv2/functionspb"
	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/evcli/evcli/filter"
	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/gcp/gcptest"
	"github.com/evcli/evcli/providers/providertest"
)

const (
	testCloudProject = "evcli-conformance"
	testRegion       = "europe-west1"
)

// TestConformance runs the provider conformance suite against the gcp
// driver on Google's pstest (Pub/Sub, in process, with its own filter
// evaluation) and gcptest (Cloud Functions over gRPC), a fresh pair per
// check.
func TestConformance(t *testing.T) {
	providertest.Run(t, func(ctx context.Context, t *testing.T) (providertest.Harness, error) {
		h, err := newHarness(t.TempDir())
		if err == nil {
			h.store = sharedFirestore(t)
		}
		return h, err
	})
}

type harness struct {
	ps      *pstest.Server
	fake    *gcptest.Server
	dir     string
	admin   *recorder
	pubsubC *pubsub.SubscriptionAdminClient
	store   *firestoreEnv // nil: no Firestore emulator
	// envOver overrides (or, with "", removes) variables of env().
	envOver map[string]string
}

// recorder notes the mutating Pub/Sub admin calls pstest answers.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

type recordReactor struct {
	r    *recorder
	name string
}

func (rr recordReactor) React(req any) (bool, any, error) {
	res := ""
	switch r := req.(type) {
	case *pubsubpb.Subscription:
		res = r.Name
	case *pubsubpb.DeleteSubscriptionRequest:
		res = r.Subscription
	case *pubsubpb.ModifyPushConfigRequest:
		res = r.Subscription
	case *pubsubpb.Topic:
		res = r.Name
	}
	rr.r.mu.Lock()
	rr.r.calls = append(rr.r.calls, "pubsub "+rr.name+" "+res)
	rr.r.mu.Unlock()
	return false, nil, nil
}

func newHarness(dir string, fakeOpts ...gcptest.Option) (*harness, error) {
	rec := &recorder{}
	var opts []pstest.ServerReactorOption
	for _, m := range []string{"CreateSubscription", "DeleteSubscription", "ModifyPushConfig", "UpdateSubscription", "CreateTopic", "DeleteTopic"} {
		opts = append(opts, pstest.ServerReactorOption{FuncName: m, Reactor: recordReactor{r: rec, name: m}})
	}
	ps := pstest.NewServer(opts...)
	fake, err := gcptest.New(append([]gcptest.Option{gcptest.WithInvoke(conformanceHandler), gcptest.WithOnCall(func(c gcptest.Call) {
		rec.mu.Lock()
		rec.calls = append(rec.calls, "functions "+c.Method+" "+c.Resource)
		rec.mu.Unlock()
	})}, fakeOpts...)...)
	if err != nil {
		ps.Close()
		return nil, err
	}
	subs, err := pubsub.NewSubscriptionAdminClient(context.Background(), option.WithEndpoint(ps.Addr), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		return nil, err
	}
	return &harness{ps: ps, fake: fake, dir: dir, admin: rec, pubsubC: subs}, nil
}

func (h *harness) env() map[string]string {
	env := map[string]string{
		envPubSub:                      h.ps.Addr,
		envOverride + "CLOUDFUNCTIONS": h.fake.URL(),
		envOverride + "LOGGING":        h.fake.URL(),
		envOverride + "RUN":            h.fake.URL(),
		envOverride + "MONITORING":     h.fake.URL(),
		envOverride + "SECRETMANAGER":  h.fake.URL(),
		EnvGuard:                       "in-function",
		envCredentials:                 "/nonexistent/evcli-test-credentials.json", // never read: every API is local
	}
	if h.store != nil {
		env[envFirestore] = h.store.addr
	}
	for k, v := range h.envOver {
		env[k] = v
	}
	return env
}

func (h *harness) Open(ctx context.Context, o providers.OpenOptions) (*providers.Provider, error) {
	o.Dir = h.dir
	o.Region, o.CloudProject = testRegion, testCloudProject
	o.Sleep = fastSleep
	env := h.env()
	o.Getenv = func(k string) string { return env[k] }
	if h.store != nil {
		o.Store = providers.StoreSpec{Type: "firestore", Table: h.store.collection(o.Project)}
	}
	p, err := Open(ctx, o)
	if err != nil {
		return nil, err
	}
	// The project's topic exists, as after its first deploy (the bus check
	// publishes without deploying).
	changes, err := p.Shared.PlanShared(ctx, false)
	if err == nil {
		err = p.Shared.ApplyShared(ctx, changes, nil)
	}
	if err != nil {
		p.Close(ctx)
		return nil, err
	}
	return p, nil
}

// fastSleep keeps the driver's operation polling from slowing the suite.
func fastSleep(ctx context.Context, d time.Duration) error {
	return providers.Sleep(ctx, min(d, 2*time.Millisecond))
}

// Function is a Node.js function (the runtime the in-function guard is
// generated for; the fake runs conformanceHandler in its place).
func (h *harness) Function(name string, variant int) (providers.FunctionDeployment, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "index.js", Method: zip.Deflate, Modified: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return providers.FunctionDeployment{}, err
	}
	fmt.Fprintf(w, "// variant %d\nexports.handler = async (req, res) => res.status(200).send(req.rawBody);\n", variant)
	if err := zw.Close(); err != nil {
		return providers.FunctionDeployment{}, err
	}
	sum := sha256.Sum256(buf.Bytes())
	path := filepath.Join(h.dir, fmt.Sprintf("conformance-node-%d-%x.zip", variant, sum[:4]))
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return providers.FunctionDeployment{}, err
	}
	return providers.FunctionDeployment{Runtime: "nodejs22.x", Handler: "handler",
		ArtifactPath: path, CodeSha256: base64.StdEncoding.EncodeToString(sum[:])}, nil
}

func (h *harness) Close() {
	h.pubsubC.Close()
	h.fake.Close()
	h.ps.Close()
}

// MutatingCalls are the fake's Cloud Functions writes and the Pub/Sub
// admin writes pstest answered (not publishing: that is not deploying).
func (h *harness) MutatingCalls() []string {
	h.admin.mu.Lock()
	defer h.admin.mu.Unlock()
	return slices.Clone(h.admin.calls)
}

// Received delivers what Pub/Sub would push: every message pstest kept
// for each subscription on bus's topic (pstest applies the subscriptions'
// filters itself), to the function whose URL the subscription pushes to,
// where the in-function guard (package filter over the envelope, with the
// rule's pattern from the function's environment) lets through what the
// pattern matches.
func (h *harness) Received(ctx context.Context, bus string, ids []string) (map[string][]string, error) {
	topic := "projects/" + testCloudProject + "/topics/" + bus
	byURL := map[string]*functionspb.Function{}
	for _, f := range h.fake.Functions() {
		byURL[f.GetServiceConfig().GetUri()] = f
	}
	out := map[string][]string{}
	it := h.pubsubC.ListSubscriptions(ctx, &pubsubpb.ListSubscriptionsRequest{Project: "projects/" + testCloudProject})
	for {
		sub, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			return nil, err
		}
		if sub.Topic != topic {
			continue
		}
		fn := byURL[sub.GetPushConfig().GetPushEndpoint()]
		if fn == nil {
			return nil, fmt.Errorf("subscription %s pushes to %q, which is no function's URL", sub.Name, sub.GetPushConfig().GetPushEndpoint())
		}
		if sub.GetPushConfig().GetNoWrapper() == nil || sub.GetPushConfig().GetOidcToken() == nil {
			return nil, fmt.Errorf("subscription %s pushes without the CloudEvent headers or an identity token: %v", sub.Name, sub.GetPushConfig())
		}
		env := fn.GetServiceConfig().GetEnvironmentVariables()
		if isWriter(env[EnvFunction]) {
			continue // the store writer is a project resource, not one of the functions
		}
		var rules []providers.RuleSpec
		if err := json.Unmarshal([]byte(env[EnvRules]), &rules); err != nil {
			return nil, fmt.Errorf("function %s: %s: %v", fn.Name, EnvRules, err)
		}
		i := slices.IndexFunc(rules, func(r providers.RuleSpec) bool { return LabelValue(r.ID) == sub.Labels[LabelRule] })
		if i < 0 {
			return nil, fmt.Errorf("subscription %s is for rule %q, which function %s does not have", sub.Name, sub.Labels[LabelRule], fn.Name)
		}
		pat, err := filter.Parse(rules[i].Pattern)
		if err != nil {
			return nil, err
		}
		for {
			resp, err := h.pubsubC.Pull(ctx, &pubsubpb.PullRequest{Subscription: sub.Name, MaxMessages: 100, ReturnImmediately: true})
			if err != nil {
				return nil, err
			}
			if len(resp.ReceivedMessages) == 0 {
				break
			}
			var acks []string
			for _, m := range resp.ReceivedMessages {
				acks = append(acks, m.AckId)
				id := m.Message.Attributes["ce-id"]
				if !slices.Contains(ids, id) {
					continue
				}
				if ok, err := pat.Match(m.Message.Data); err != nil || !ok {
					continue // the guard acknowledges without running the handler
				}
				out[id] = append(out[id], env[EnvFunction])
			}
			if err := h.pubsubC.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: sub.Name, AckIds: acks}); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// conformanceHandler is providertest.Handler as the fake runs it: echo,
// or fail (HTTP 500, as Cloud Run answers when the function raises).
func conformanceHandler(_ *functionspb.Function, _ []byte, _ http.Header, body []byte) gcptest.Result {
	var ev struct {
		ID   string `json:"id"`
		Mark string `json:"mark"`
		Fail string `json:"fail"`
	}
	json.Unmarshal(body, &ev)
	logs := []string{fmt.Sprintf("conformance id=%s mark=%s", ev.ID, ev.Mark)}
	if ev.Fail != "" {
		return gcptest.Result{Status: http.StatusInternalServerError, Body: []byte("RuntimeError: " + ev.Fail),
			Logs: append(logs, "Traceback (most recent call last): RuntimeError: "+ev.Fail)}
	}
	return gcptest.Result{Status: http.StatusOK, Body: body, Logs: logs}
}

func (h *harness) Skip(check string) string {
	switch check {
	case "Store":
		if h.store == nil {
			return "the gcp event store is Firestore, checked against Google's Firestore emulator: " + firestoreAbsent
		}
	}
	return ""
}

var (
	_ providertest.MutationRecorder = (*harness)(nil)
	_ providertest.DeliveryObserver = (*harness)(nil)
	_ providertest.Skipper          = (*harness)(nil)
)

// WriteEvents stores evs as the project's writer does (FirestoreStore.Write).
func (h *harness) WriteEvents(ctx context.Context, p *providers.Provider, evs []providers.StoredEvent) error {
	s, ok := p.Store.(*FirestoreStore)
	if !ok {
		return fmt.Errorf("the provider's store is %T, not Firestore", p.Store)
	}
	return s.Write(ctx, evs)
}

var _ providertest.StoreWriter = (*harness)(nil)
