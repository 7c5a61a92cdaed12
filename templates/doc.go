// Package templates holds the project scaffolds evcli init writes, embedded
// in the binary with go:embed, and renders them.
//
// Each template (fan-out, event-sourcing, saga) comes in Go, Node.js and
// Python. A rendered project is runnable as it is: an evcli.yaml for the
// local provider, one directory per function under functions/, sample
// events under events/ and a README. Go projects are one module (go.mod and
// a go.sum generated from evcli's own dependency versions, so they build
// offline from a warm module cache) with the shared code under internal/.
// Node.js and Python functions are self-contained directories, because
// each is zipped on its own.
//
// Every handler logs one JSON object per line carrying the correlationId it
// read from the incoming event's detail, and copies that ID into every event
// it publishes (through PutEvents with the AWS SDK: aws-sdk-go-v2,
// @aws-sdk/client-eventbridge or boto3, which the local provider reaches
// through AWS_ENDPOINT_URL_EVENTBRIDGE).
//
// Files ending in .tmpl are rendered with text/template and Data (and lose
// the suffix; Go sources carry it too so that they are not compiled as part
// of evcli); other files are copied unchanged. See Files for the layering.
//
// Errors: an unknown template or language (with a suggestion), an invalid
// project name, and a target directory that is not empty (*NotEmptyError):
// Render never overwrites a file.
package templates
