// Package fakecloud starts a whole fake cloud on 127.0.0.1 that an evcli
// process (or any other client) reaches through the documented endpoint
// and emulator variables only: no account, no network, no test hook in the
// binary.
//
// StartGCP runs Google's pstest (Pub/Sub), the Firestore emulator (Java;
// started from the Google Cloud CLI's google-cloud-cli-firestore-emulator
// package, or EVCLI_FIRESTORE_EMULATOR_HOST when one is running) and
// gcptest (Cloud Functions, Cloud Run, Cloud Logging, Cloud Monitoring,
// Firestore Admin). Pub/Sub's push is played by a loop that delivers what
// each push subscription holds to the function's URL, where the deployed
// zip's own code runs through evcli's local runtime (the same host shim
// that runs handlers: gcp locally), and the store writer's code under node
// against the Firestore emulator. Its Env are the variables to give evcli
// (PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST,
// CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>, GOOGLE_CLOUD_PROJECT): every API
// is plaintext on loopback, so the driver asks for no credentials.
//
// A missing emulator or interpreter is an *AbsentError (wrapping ErrAbsent)
// that says what to install; tests skip on it.
//
// `go run ./internal/fakecloud/cmd gcp` starts one by hand and prints the
// lines to export. It is never linked into the evcli binary.
package fakecloud
