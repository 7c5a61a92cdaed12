//go:build tools

package runtime

// The test handlers under testdata/handlers are built from this module with
// aws-lambda-go, which no non-test package imports: importing it here keeps
// the requirement in go.mod (go mod tidy does not look into testdata). The
// same for functions-framework-go and the CloudEvents SDK, which the Go
// scaffold of evcli init --provider gcp requires: evcli's go.mod pins the
// versions the scaffold uses (templates/gomod_test.go), so building a new
// project finds them in the module cache.
//
// The build tag keeps this file out of every build and test (go mod tidy
// reads files of every tag but "ignore"): as a _test.go file it made
// go test -race compile, vet and link these modules with the race
// detector, about 40 packages no test runs.
import (
	_ "github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	_ "github.com/GoogleCloudPlatform/functions-framework-go/functions"
	_ "github.com/aws/aws-lambda-go/lambda"
	_ "github.com/aws/aws-lambda-go/lambdacontext"
	_ "github.com/cloudevents/sdk-go/v2/event"
)
