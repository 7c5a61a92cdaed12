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
// StartAzure runs aztest (ARM, OneDeploy, the function hosts, Event Grid's
// data plane and filters), aztest's Log Analytics and metrics fakes and
// @vercel/cosmosdb-server (.ci/node_modules, or EVCLI_COSMOSDB_BIN). Event
// Grid's push is a loop over aztest.Deliveries that runs the subscribed
// app's code as the Functions host would (the local runtime's Azure
// Functions host shim; the store writer under node, its Cosmos DB output
// binding played by an upsert), retried with growing delays as Event Grid
// does, and recorded as Application Insights records it and in Runs. A
// Node.js or Python package published with evcli's generated entrypoint
// (.evcli/entry.json) runs evcli_entry.js / evcli_entry.py: deliveries its
// events function (with the in-function guard when EVCLI_GUARD is set),
// invoke its evcli-invoke; the Go custom handler's entrypoint is not
// played yet (its handler is called as before). Its Env are the EVCLI_AZURE_*_ENDPOINT
// and AZURE_* variables, EVCLI_AZURE_COSMOS_KEY, and SSL_CERT_FILE: the
// Azure SDK's token policy sends a credential over TLS only, so Log
// Analytics and metrics are served over HTTPS with net/http/httptest's
// certificate, which SSL_CERT_FILE makes the one trusted root of that
// process; Cosmos DB is a plaintext proxy (key auth is allowed over http)
// in front of the emulator, whose certificate is pinned.
//
// A missing emulator or interpreter is an *AbsentError (wrapping ErrAbsent)
// that says what to install; tests skip on it.
//
// `go run ./internal/fakecloud/cmd gcp|azure` starts one by hand and prints the
// lines to export. It is never linked into the evcli binary.
package fakecloud
