// Package gcp is evcli's Google Cloud driver: Cloud Functions (2nd gen),
// Pub/Sub and Firestore through Google's Go clients (gRPC).
//
// Open (open.go) settles the Google Cloud project (OpenOptions.CloudProject,
// GOOGLE_CLOUD_PROJECT, or the credentials' own), the region (the Cloud
// Functions location) and Application Default Credentials
// (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login,
// the metadata server): a missing one is Unauthenticated or Unconfigured
// with the fix, exit 4, before any work starts. Credentials are not needed
// when every API used is an emulator or a fake: PUBSUB_EMULATOR_HOST,
// FIRESTORE_EMULATOR_HOST, and gcloud's CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>
// (CLOUDFUNCTIONS, PUBSUB, FIRESTORE, LOGGING, RUN, MONITORING, SECRETMANAGER) with an http:// URL, or --endpoint for
// every API without a variable of its own.
//
// Event bus (pubsub.go): the project's bus is a Pub/Sub topic
// (evcli.yaml's bus). Publish sends one message per event in one Publish
// request (1,000 messages a call): the data is the EventBridge envelope,
// the attributes the CloudEvents context (ce-id, ce-source, ce-type =
// detail-type, ce-time, ce-specversion). An entry that cannot be an event
// fails at its index with InvalidArgument and the others go.
//
// Deployer (deployer.go, subscriptions.go, shared.go, invoke.go,
// router.go): functions are Cloud Functions (2nd gen). ApplyFunction PUTs
// the zip to the URL GenerateUploadUrl returns (plain HTTP: no storage
// client), then CreateFunction or UpdateFunction with a mask of only what
// differs, polling the operation through the injected sleep and reporting
// its stages. The source's SHA-256 is the label evcli-source, the project
// the label evcli-project; the exact names and the rules are in the
// function's environment (EVCLI_PROJECT, EVCLI_FUNCTION, EVCLI_RULES), left
// out of the environment Deployed reports. Each rule is a Pub/Sub push
// subscription (no wrapper, so the attributes arrive as CloudEvent headers;
// an OIDC token for the function's service account, which deploy grants
// roles/run.invoker on the function's Cloud Run service: invoker.go) whose filter is what
// Translate (rules.go) can say of the pattern; what it cannot is refused
// before anything is planned (CheckRules: each operator with its
// file:line:col) unless the project opts into the in-function guard
// (evcli.yaml gcp.guard: in-function, or EVCLI_GCP_GUARD): then a Node.js
// function is uploaded with evcli's generated entrypoint and package
// filter built for WebAssembly (package guard, guardzip.go), which run
// the handler only for events a rule matches; other runtimes are refused
// even so. PlanShared/ApplyShared create the topic, the store's writer
// and TTL policy. Invoke POSTs a binary-mode CloudEvent with an identity token.
//
// Secrets (secrets.go): each of a function's secrets (evcli.yaml secrets:)
// is a Secret Manager secret <function id>-<NAME> labelled with the
// project and function; deploy adds a version holding the value taken
// from the environment, grants the function's service account
// roles/secretmanager.secretAccessor on it (a new function on Google's
// default account is created first, then given its secrets: the account
// is known only then; a first revision that fails to start without them
// is followed by that update), and references that version in the function's
// secret_environment_variables. The value goes nowhere else: the plan
// compares a salted PBKDF2 hash kept in the secret's annotations with the
// version it describes (SecretHasher), so a deploy with the same value
// makes no write. A secret the project drops, or the function's deletion,
// deletes the secret.
//
// Rollback (rollback.go): a 2nd-gen function is a Cloud Run service with a
// revision per changing deploy; Rollback pins its traffic to one with
// Cloud Run's UpdateService (the next deploy moves it to the new revision).
//
// Logs (logs.go): Cloud Run's entries for the functions' services, from
// ListLogEntries (a process-wide budget under the 60 calls a minute) and
// then TailLogEntries; each request log is rendered as a REPORT line.
//
// Metrics (metrics.go): each invocation from Cloud Run's request log;
// MaxMemoryUsedMB from Cloud Monitoring's per-minute container memory
// utilization (the minute's peak bucket bound times the memory size: an
// upper bound).
//
// Probe (probe.go, tune memory --probe): as on AWS, a temporary copy per
// size (<function id>-tune-<MB>-<hex>, labelled evcli-tune-copy-of and not
// evcli-project, so no listing sees it) built from the live function's
// source object with its runtime, entry point, environment, secrets and
// account, one instance at most; invoked through its URL as Invoke does,
// each record's duration then read from Cloud Run's request log by
// execution id (the client's round trip, with a warning, for an entry not
// there after a short wait), memory from Cloud Monitoring; deleted on
// every exit path, the deletion registered before the create.
//
// Event store (firestore.go, storewriter.go): one document per event id in
// the collection store.table; reads query the time window and select the
// rest while streaming. Deploy installs the writer that fills it: a
// dependency-free Node function (storewriter/index.js, embedded) with a push
// subscription taking every event on the project's topic, creating each
// event's document once (409 on a redelivery), and, with store.ttlDays,
// Firestore's TTL policy on the TTL field (Firestore Admin UpdateField;
// CLOUDSDK_API_ENDPOINT_OVERRIDES_FIRESTORE moves the admin API, which
// FIRESTORE_EMULATOR_HOST does not: the emulator has none).
//
// Physical names (names.go): functions are <project>-<fn> (Cloud Functions
// ids: lower case, 63 characters, a hash suffix when cut or changed);
// subscriptions evcli-<project>-<fn>-<rule>.
//
// Errors (errors.go): one classifier maps gRPC status codes (NotFound,
// AlreadyExists, PermissionDenied, ResourceExhausted, Unavailable, ...) and
// the upload's HTTP statuses to providers.Code.
package gcp
