package aws

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/evcli/evcli/providers"
)

// Invoke implements providers.Invoker: a synchronous Invoke of the live
// alias with LogType Tail. LogTail holds the decoded log lines (Lambda
// returns the last 4 KB) and DurationMs comes from their REPORT line.
// Throttling is retried; a function error is a result, not an error.
func (d *Deployer) Invoke(ctx context.Context, function string, payload []byte) (providers.InvokeResult, error) {
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	function = d.physical(function)
	out, err := retry(ctx, d, "function "+function, func(ctx context.Context) (*lambda.InvokeOutput, error) {
		return d.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(function), Qualifier: aws.String(AliasLive),
			InvocationType: ltypes.InvocationTypeRequestResponse, LogType: ltypes.LogTypeTail, Payload: payload})
	})
	if err != nil {
		return providers.InvokeResult{}, err
	}
	r := providers.InvokeResult{Payload: out.Payload, FunctionError: aws.ToString(out.FunctionError)}
	r.RequestID, _ = awsmw.GetRequestIDMetadata(out.ResultMetadata)
	r.LogTail = decodeLogTail(aws.ToString(out.LogResult))
	for _, l := range r.LogTail {
		if rec, ok := providers.ParseReportLine(l); ok {
			r.DurationMs = rec.DurationMs
			if r.RequestID == "" {
				r.RequestID = rec.RequestID
			}
		}
	}
	return r, nil
}

// decodeLogTail decodes Invoke's base64 LogResult into lines. The tail is
// cut to 4 KB by Lambda, so its first line may be partial.
func decodeLogTail(s string) []string {
	if s == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	text := strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}
