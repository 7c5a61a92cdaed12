package fakecloud

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"sync"
	"time"

	pubsub "cloud.google.com/go/pubsub/v2/apiv1"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/evcli/evcli/providers/gcp/gcptest"
)

// GCPProject is the Google Cloud project id the fake GCP answers for
// (GOOGLE_CLOUD_PROJECT in Env).
const GCPProject = "evcli-fake"

// GCPOptions configures StartGCP. All fields are optional.
type GCPOptions struct {
	// Log receives what the fake's push loop and function runs have to
	// say that no API answers (a push that failed, a runtime error).
	Log io.Writer
	// FirestoreWait is how long the Firestore emulator may take to
	// listen (default 90 s; Java's start on a loaded machine).
	FirestoreWait time.Duration
	// PushEvery is how often the push loop looks for messages (default
	// 50 ms).
	PushEvery time.Duration
	// TempDir holds the functions' unpacked sources and the runtime's
	// files (default: a new directory under os.TempDir, removed by Close).
	TempDir string
}

// GCP is a running fake Google Cloud.
type GCP struct {
	// Env are the variables that point evcli at this fake, as NAME=value.
	Env []string

	Functions *gcptest.Server
	PubSub    *pstest.Server
	// FirestoreAddr is the Firestore emulator's host:port.
	FirestoreAddr string

	fs     *firestoreEmulator
	subs   *pubsub.SubscriptionAdminClient
	runner *runner
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	pubsub []string // mutating Pub/Sub admin calls
}

// pubsubRecorder notes a mutating Pub/Sub admin call pstest answers.
type pubsubRecorder struct {
	g    *GCP
	name string
}

func (r pubsubRecorder) React(req any) (bool, any, error) {
	res := ""
	switch x := req.(type) {
	case *pubsubpb.Subscription:
		res = x.Name
	case *pubsubpb.DeleteSubscriptionRequest:
		res = x.Subscription
	case *pubsubpb.ModifyPushConfigRequest:
		res = x.Subscription
	case *pubsubpb.UpdateSubscriptionRequest:
		res = x.GetSubscription().GetName()
	case *pubsubpb.Topic:
		res = x.Name
	case *pubsubpb.DeleteTopicRequest:
		res = x.Topic
	}
	r.g.mu.Lock()
	r.g.pubsub = append(r.g.pubsub, "pubsub "+r.name+" "+res)
	r.g.mu.Unlock()
	return false, nil, nil
}

// StartGCP starts the fake Google Cloud. An error wrapping ErrAbsent says
// which emulator or interpreter is missing and how to install it.
func StartGCP(o GCPOptions) (g *GCP, err error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.FirestoreWait <= 0 {
		o.FirestoreWait = 90 * time.Second
	}
	if o.PushEvery <= 0 {
		o.PushEvery = 50 * time.Millisecond
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, &AbsentError{"node", "install Node.js: the fake runs the event store's writer (and Node.js functions) with it"}
	}
	g = &GCP{done: make(chan struct{})}
	var closers []func()
	defer func() {
		if err != nil {
			for _, c := range slices.Backward(closers) {
				c()
			}
		}
	}()
	if g.fs, err = startFirestore(o.FirestoreWait); err != nil {
		return nil, err
	}
	closers = append(closers, g.fs.stop)
	g.FirestoreAddr = g.fs.addr
	if g.runner, err = newRunner(o.TempDir, o.Log, g.fs.addr); err != nil {
		return nil, err
	}
	closers = append(closers, g.runner.close)

	var reactors []pstest.ServerReactorOption
	for _, m := range []string{"CreateSubscription", "DeleteSubscription", "ModifyPushConfig", "UpdateSubscription", "CreateTopic", "DeleteTopic", "UpdateTopic"} {
		reactors = append(reactors, pstest.ServerReactorOption{FuncName: m, Reactor: pubsubRecorder{g: g, name: m}})
	}
	g.PubSub = pstest.NewServer(reactors...)
	closers = append(closers, func() { g.PubSub.Close() })
	if g.Functions, err = gcptest.New(gcptest.WithInvoke(g.runner.invokeGCP)); err != nil {
		return nil, err
	}
	closers = append(closers, g.Functions.Close)
	g.subs, err = pubsub.NewSubscriptionAdminClient(context.Background(), option.WithEndpoint(g.PubSub.Addr),
		option.WithoutAuthentication(), option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { g.subs.Close() })

	fn := g.Functions.URL()
	g.Env = []string{
		"GOOGLE_CLOUD_PROJECT=" + GCPProject,
		"PUBSUB_EMULATOR_HOST=" + g.PubSub.Addr,
		"FIRESTORE_EMULATOR_HOST=" + g.fs.addr,
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDFUNCTIONS=" + fn,
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING=" + fn,
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN=" + fn,
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_MONITORING=" + fn,
		// The Firestore Admin API (TTL policies): the emulator has none.
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_FIRESTORE=" + fn,
	}

	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go g.pushLoop(ctx, o.PushEvery, o.Log)
	return g, nil
}

// pushLoop is Pub/Sub's push delivery: every tick, what each push
// subscription holds goes to its endpoint (gcptest.Push).
func (g *GCP) pushLoop(ctx context.Context, every time.Duration, log io.Writer) {
	defer close(g.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := gcptest.Push(ctx, g.subs, GCPProject); err != nil && ctx.Err() == nil {
			fmt.Fprintf(log, "fakecloud: pub/sub push: %v\n", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// MutatingCalls are the writes the fake accepted: Cloud Functions' (and
// the uploads, Cloud Run's IAM and traffic, Firestore Admin's fields) and
// Pub/Sub's admin writes (topics, subscriptions), sorted. Publishing and
// the event store's documents are not deploying and are not in it.
func (g *GCP) MutatingCalls() []string {
	var out []string
	for _, c := range g.Functions.MutatingCalls() {
		out = append(out, "functions "+c.Method+" "+c.Resource)
	}
	g.mu.Lock()
	out = append(out, g.pubsub...)
	g.mu.Unlock()
	sort.Strings(out)
	return out
}

// Close stops everything StartGCP started.
func (g *GCP) Close() {
	g.cancel()
	<-g.done
	g.subs.Close()
	g.Functions.Close()
	g.PubSub.Close()
	g.runner.close()
	g.fs.stop()
}
