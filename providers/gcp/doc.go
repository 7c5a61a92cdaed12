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
// (CLOUDFUNCTIONS, PUBSUB, FIRESTORE, LOGGING) with an http:// URL, or --endpoint for
// every API without a variable of its own.
//
// Event bus (pubsub.go): the project's bus is a Pub/Sub topic
// (evcli.yaml's bus). Publish sends one message per event in one Publish
// request (1,000 messages a call): the data is the EventBridge envelope,
// the attributes the CloudEvents context (ce-id, ce-source, ce-type =
// detail-type, ce-time, ce-specversion). An entry that cannot be an event
// fails at its index with InvalidArgument and the others go.
//
// Physical names (names.go): functions are <project>-<fn> (Cloud Functions
// ids: lower case, 63 characters, a hash suffix when cut or changed).
//
// Errors (errors.go): one classifier maps gRPC status codes (NotFound,
// AlreadyExists, PermissionDenied, ResourceExhausted, Unavailable, ...) and
// the upload's HTTP statuses to providers.Code.
package gcp
