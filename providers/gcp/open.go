package gcp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/tune"
)

// Endpoint variables. The emulators' own variables (PUBSUB_EMULATOR_HOST,
// FIRESTORE_EMULATOR_HOST, STORAGE_EMULATOR_HOST) are Google's; the APIs
// without an emulator take gcloud's override variables
// (CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>: CLOUDFUNCTIONS, PUBSUB, FIRESTORE,
// LOGGING, RUN, MONITORING, SECRETMANAGER), whose value is a URL: http://
// means plaintext gRPC without credentials (a fake or emulator on this
// machine), https:// TLS with the account's credentials. OpenOptions.Endpoint
// (--endpoint) overrides every API that has no variable of its own.
const (
	envProject     = "GOOGLE_CLOUD_PROJECT"
	envCredentials = "GOOGLE_APPLICATION_CREDENTIALS"
	envPubSub      = "PUBSUB_EMULATOR_HOST"
	envFirestore   = "FIRESTORE_EMULATOR_HOST"
	envStorage     = "STORAGE_EMULATOR_HOST"
	envOverride    = "CLOUDSDK_API_ENDPOINT_OVERRIDES_"
)

// endpoint is where one API is reached: addr "" is Google's own.
type endpoint struct {
	addr string
	// plain: no TLS and no credentials (an emulator or fake on loopback).
	plain bool
}

func (e endpoint) String() string {
	switch {
	case e.addr == "":
		return "Google"
	case e.plain:
		return e.addr + " (plaintext, no credentials)"
	}
	return e.addr
}

// config is what Open settles once for every ability.
type config struct {
	cloudProject, region string
	creds                *auth.Credentials // nil when every API used is an emulator or fake
	functions, pubsub    endpoint
	firestore, logging   endpoint
	// firestoreAdmin is the Firestore Admin API (the TTL policy): the
	// emulator has none, so FIRESTORE_EMULATOR_HOST does not move it.
	firestoreAdmin  endpoint
	run, monitoring endpoint
	// secretManager is Secret Manager (the functions' secrets).
	secretManager endpoint
	getenv        func(string) string
}

// clientOptions are the options of a generated client reaching ep.
func (c *config) clientOptions(ep endpoint) []option.ClientOption {
	var opts []option.ClientOption
	if ep.addr != "" {
		opts = append(opts, option.WithEndpoint(ep.addr))
	}
	if ep.plain {
		return append(opts, option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	if c.creds != nil {
		opts = append(opts, option.WithAuthCredentials(c.creds))
	}
	return opts
}

// Open opens the Google Cloud provider: the Google Cloud project from
// OpenOptions.CloudProject, GOOGLE_CLOUD_PROJECT or the credentials; the
// region (Cloud Functions location) from OpenOptions.Region; Application
// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's
// application-default login, the metadata server) unless every API it
// reaches is an emulator or a fake. Missing credentials are
// Unauthenticated, a missing project or region Unconfigured, each with the
// fix, before any work starts. Neither credentials nor environment values
// are ever printed, not even to o.Debug.
//
// The event store is the project's Firestore collection (store.type
// firestore); without one, the provider has no event store and says so.
func Open(ctx context.Context, o providers.OpenOptions) (*providers.Provider, error) {
	if o.Store.Type != "" && o.Store.Type != "firestore" && o.Store.Type != "local" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "gcp",
			Err:  fmt.Errorf("the gcp provider reads a firestore event store; evcli.yaml's store.type is %q", o.Store.Type),
			Hint: "set store.type to firestore (with store.table naming the collection), or remove the store section"}
	}
	if o.ArtifactBucket != "" {
		return nil, &providers.Error{Code: providers.InvalidArgument, Resource: "gcp",
			Err:  errors.New("--artifact-bucket is not used on gcp: Cloud Functions takes the source through its own upload URL (GenerateUploadUrl)"),
			Hint: "leave out --artifact-bucket"}
	}
	if o.Offline {
		return openOffline(o)
	}
	c, err := configure(ctx, o)
	if err != nil {
		return nil, err
	}
	o.Debugf("gcp: project %s, region %s; Cloud Functions at %s, Pub/Sub at %s, Firestore at %s, Cloud Logging at %s, Cloud Run at %s, Cloud Monitoring at %s, Secret Manager at %s",
		c.cloudProject, c.region, c.functions, c.pubsub, c.firestore, c.logging, c.run, c.monitoring, c.secretManager)

	p := &providers.Provider{Name: "gcp", Missing: map[providers.Ability]string{
		providers.AbilityWait:  "Pub/Sub delivers to Cloud Functions asynchronously; follow the deliveries with evcli tail",
		providers.AbilityServe: "it runs in the cloud; use the local provider to serve functions on this machine",
		providers.AbilityState: "the gcp driver keeps no state on this machine (replay checkpoints are project-local state)",
		// Not built yet: said as such, never as a limit of Google Cloud.
		providers.AbilityWorkflow: "this evcli build does not deploy workflows to Google Cloud Workflows yet; run them on the local provider",
		providers.AbilityStore:    "the project has no event store: set store.type to firestore and store.table (the collection) in evcli.yaml",
	}}
	// tune memory: 2nd gen's memory tiers, the CPU each gets, and Cloud
	// Run's request-based prices in the function's region.
	p.Prices = tune.CloudRunPrices(c.region)
	bus, err := newPubSub(ctx, c, o)
	if err != nil {
		return nil, err
	}
	p.OnClose(func(context.Context) error { return bus.close() })
	p.Bus, p.BusLimits = bus, PublishLimits
	d, err := newDeployer(ctx, c, bus, o)
	if err != nil {
		p.Close(ctx)
		return nil, err
	}
	p.OnClose(func(context.Context) error { return d.close() })
	p.Deployer, p.Shared = d, d
	p.Invoker, p.Router = d, d
	p.Memory = d
	p.Exporter = newExporter(c, o)
	logs, err := newLogSource(ctx, c, d, o)
	if err != nil {
		p.Close(ctx)
		return nil, err
	}
	p.OnClose(func(context.Context) error { return logs.close() })
	p.Logs = logs
	metrics, err := newMetricsSource(ctx, c, logs)
	if err != nil {
		p.Close(ctx)
		return nil, err
	}
	p.OnClose(func(context.Context) error { return metrics.close() })
	p.Metrics = metrics
	p.Prober = newProber(d, logs, metrics)
	rc, err := newRunClients(ctx, c)
	if err != nil {
		p.Close(ctx)
		return nil, err
	}
	p.OnClose(func(context.Context) error { return rc.close() })
	d.run = rc.services
	p.Rollbacker = &rollbacker{d: d, run: rc}
	if o.Store.Type == "firestore" {
		st, err := newFirestoreStore(ctx, c, o)
		if err != nil {
			p.Close(ctx)
			return nil, err
		}
		p.OnClose(func(context.Context) error { return st.Close() })
		p.Store = st
		delete(p.Missing, providers.AbilityStore)
	}
	return p, nil
}

// configure settles the project, region, endpoints and credentials.
func configure(ctx context.Context, o providers.OpenOptions) (*config, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	c := &config{region: o.Region, getenv: getenv, cloudProject: o.CloudProject}
	var err error
	all := endpoint{}
	if o.Endpoint != "" {
		if all, err = parseEndpoint(o.Endpoint); err != nil {
			return nil, err
		}
	}
	override := func(api string) (endpoint, error) {
		if v := getenv(envOverride + api); v != "" {
			return parseEndpoint(v)
		}
		return all, nil
	}
	if c.functions, err = override("CLOUDFUNCTIONS"); err != nil {
		return nil, err
	}
	if c.logging, err = override("LOGGING"); err != nil {
		return nil, err
	}
	if c.run, err = override("RUN"); err != nil {
		return nil, err
	}
	if c.monitoring, err = override("MONITORING"); err != nil {
		return nil, err
	}
	if c.secretManager, err = override("SECRETMANAGER"); err != nil {
		return nil, err
	}
	emulator := func(name string, fallback string) (endpoint, error) {
		if v := getenv(name); v != "" {
			return endpoint{addr: strings.TrimPrefix(v, "http://"), plain: true}, nil
		}
		return override(fallback)
	}
	if c.pubsub, err = emulator(envPubSub, "PUBSUB"); err != nil {
		return nil, err
	}
	if c.firestore, err = emulator(envFirestore, "FIRESTORE"); err != nil {
		return nil, err
	}
	if c.firestoreAdmin, err = override("FIRESTORE"); err != nil {
		return nil, err
	}

	needsCreds := !c.functions.plain || !c.pubsub.plain || !c.logging.plain || !c.run.plain || !c.monitoring.plain || (o.Store.Type == "firestore" && !c.firestore.plain) ||
		(o.Store.Type == "firestore" && o.Store.TTLDays > 0 && !c.firestoreAdmin.plain)
	if needsCreds {
		dopts := &credentials.DetectOptions{Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"}}
		if f := getenv(envCredentials); f != "" {
			dopts.CredentialsFile = f
		}
		creds, err := credentials.DetectDefault(dopts)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			o.Debugf("gcp credentials: %v", err)
			msg := "no Application Default Credentials found"
			if getenv(envCredentials) != "" {
				msg = envCredentials + " does not name a usable credentials file"
			}
			return nil, &providers.Error{Code: providers.Unauthenticated, Resource: "gcp", Err: errors.New(msg),
				Hint: `run "gcloud auth application-default login", or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file`}
		}
		c.creds = creds
		if c.cloudProject == "" {
			c.cloudProject = getenv(envProject)
		}
		if c.cloudProject == "" {
			if id, err := creds.ProjectID(ctx); err == nil {
				c.cloudProject = id
			}
		}
	}
	if c.cloudProject == "" {
		c.cloudProject = getenv(envProject)
	}
	if c.cloudProject == "" {
		return nil, &providers.Error{Code: providers.Unconfigured, Resource: "gcp",
			Err:  errors.New("no Google Cloud project is set"),
			Hint: "set GOOGLE_CLOUD_PROJECT to the project id (gcloud projects list shows them)"}
	}
	if c.region == "" {
		return nil, &providers.Error{Code: providers.Unconfigured, Resource: "gcp",
			Err:  errors.New("no region is set for Cloud Functions"),
			Hint: "pass --region (e.g. europe-west1) or set region in evcli.yaml"}
	}
	return c, nil
}

// parseEndpoint reads an endpoint override: a URL (http:// plaintext,
// https:// TLS) or a bare host:port (TLS).
func parseEndpoint(s string) (endpoint, error) {
	if !strings.Contains(s, "://") {
		return endpoint{addr: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return endpoint{}, &providers.Error{Code: providers.InvalidArgument, Resource: "gcp",
			Err:  fmt.Errorf("endpoint %q is not an http:// or https:// URL or a host:port", s),
			Hint: "write it as http://127.0.0.1:PORT for a fake or emulator on this machine, or https://HOST for a Google endpoint"}
	}
	host := u.Host
	if u.Port() == "" {
		if u.Scheme == "http" {
			host += ":80"
		} else {
			host += ":443"
		}
	}
	return endpoint{addr: host, plain: u.Scheme == "http"}, nil
}
