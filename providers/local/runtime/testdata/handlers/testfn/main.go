// Command testfn is a Lambda handler for the runtime's tests and benchmarks,
// built with aws-lambda-go (-tags lambda.norpc) into a provided.al2023
// bootstrap. The event's "action" chooses what it does.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Action string   `json:"action"`
	Lines  []string `json:"lines,omitempty"`
	Ms     int      `json:"ms,omitempty"`
	Code   int      `json:"code,omitempty"`
	MB     int      `json:"mb,omitempty"`
	URL    string   `json:"url,omitempty"`
	Value  any      `json:"value,omitempty"`
}

var keep [][]byte

func handle(ctx context.Context, e event) (any, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	switch e.Action {
	case "echo", "":
		return e, nil
	case "log":
		for _, l := range e.Lines {
			fmt.Println(l)
		}
		fmt.Fprint(os.Stderr, "no newline at the end")
		return "logged", nil
	case "error":
		return nil, errors.New("boom")
	case "panic":
		panic("kaboom")
	case "sleep":
		time.Sleep(time.Duration(e.Ms) * time.Millisecond)
		return "slept", nil
	case "late":
		go func() {
			time.Sleep(time.Duration(e.Ms) * time.Millisecond)
			fmt.Println("late line")
		}()
		return "returned", nil
	case "spin":
		n := 0
		for end := time.Now().Add(time.Duration(e.Ms) * time.Millisecond); time.Now().Before(end); n++ {
		}
		return n > 0, nil
	case "crash":
		fmt.Println("about to exit")
		os.Exit(e.Code)
	case "oom":
		for i := 0; i < e.MB/8; i++ {
			b := make([]byte, 8<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
			time.Sleep(time.Millisecond)
		}
		return fmt.Sprintf("allocated %d MB", e.MB), nil
	case "big":
		return strings.Repeat("x", e.MB<<20), nil
	case "env":
		out := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			out[k] = v
		}
		return out, nil
	case "context":
		dl, _ := ctx.Deadline()
		return map[string]any{
			"requestId":   lc.AwsRequestID,
			"arn":         lc.InvokedFunctionArn,
			"remainingMs": time.Until(dl).Milliseconds(),
			"traceId":     os.Getenv("_X_AMZN_TRACE_ID"),
			"client":      lc.ClientContext.Custom,
		}, nil
	case "call":
		req, _ := http.NewRequestWithContext(ctx, "POST", e.URL, nil)
		req.Header.Set("X-Access-Key", os.Getenv("AWS_ACCESS_KEY_ID"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		return resp.Status, nil
	}
	return nil, fmt.Errorf("unknown action %q", e.Action)
}

func main() {
	switch os.Getenv("TESTFN_INIT") {
	case "exit":
		fmt.Println("init failing")
		os.Exit(3)
	case "sleep":
		time.Sleep(2 * time.Second)
	}
	fmt.Println("init done")
	lambda.Start(handle)
}
