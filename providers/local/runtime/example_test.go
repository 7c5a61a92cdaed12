package runtime_test

import (
	"context"
	"fmt"
	"log"

	"github.com/evcli/evcli/providers"
	"github.com/evcli/evcli/providers/local/runtime"
)

// The lead's wiring: one Manager for the local provider, logs and reports
// to the store, functions deployed from their unpacked artifacts.
func Example() {
	m, err := runtime.New(runtime.Options{
		Logs:    func(l runtime.LogLine) { fmt.Printf("%s %s\n", l.Function, l.Text) },
		Reports: func(r providers.InvocationRecord) { fmt.Println(r.Outcome, r.DurationMs) },
		BaseEnv: map[string]string{"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:4010"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	err = m.Deploy(runtime.FunctionSpec{
		Name: "orders", Runtime: runtime.NodeJS20, Handler: "index.handler",
		CodeDir: ".evcli/artifacts/orders", MemoryMB: 256, TimeoutS: 10, CodeSha256: "3f2a...",
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := m.Invoke(context.Background(), "orders", []byte(`{"orderId":"o-1"}`))
	if err != nil {
		log.Fatal(err) // NotFound, InvalidArgument, Throttled, Unavailable
	}
	if res.FunctionError != "" {
		fmt.Println(res.ErrorType) // e.g. Sandbox.Timedout, Runtime.OutOfMemory
	}
	fmt.Println(string(res.Payload))
}
