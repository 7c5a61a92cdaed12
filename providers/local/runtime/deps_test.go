package runtime

// The test handlers under testdata/handlers are built from this module with
// aws-lambda-go, which no non-test package imports: importing it here keeps
// the requirement in go.mod (go mod tidy does not look into testdata).
import (
	_ "github.com/aws/aws-lambda-go/lambda"
	_ "github.com/aws/aws-lambda-go/lambdacontext"
)
