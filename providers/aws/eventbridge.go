package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/evcli/evcli/providers"
)

// EventBridgeAPI is the part of the EventBridge client the bus uses.
type EventBridgeAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBus publishes to Amazon EventBridge with PutEvents.
type EventBus struct {
	client EventBridgeAPI
}

// NewEventBus returns a bus publishing through client
// (eventbridge.NewFromConfig(cfg) for the real service; the SDK honours
// AWS_ENDPOINT_URL_EVENTBRIDGE).
func NewEventBus(client EventBridgeAPI) *EventBus { return &EventBus{client: client} }

// As exposes the client: *EventBridgeAPI or **eventbridge.Client.
func (b *EventBus) As(target any) bool {
	switch t := target.(type) {
	case *EventBridgeAPI:
		*t = b.client
		return true
	case **eventbridge.Client:
		c, ok := b.client.(*eventbridge.Client)
		if ok {
			*t = c
		}
		return ok
	}
	return false
}

// maxPutEntries is PutEvents' limit on entries per request.
const maxPutEntries = 10

// Publish puts evs on bus (an event's own EventBusName when bus is empty),
// in PutEvents calls of at most 10 entries. Per-entry failures
// (FailedEntryCount) come back as results with ErrorCode set, in the order
// of evs; the error is for a call that failed as a whole, after the SDK's
// own retries. The caller keeps each request within 256 KB.
func (b *EventBus) Publish(ctx context.Context, bus string, evs []providers.Event) ([]providers.PublishResult, error) {
	out := make([]providers.PublishResult, 0, len(evs))
	for start := 0; start < len(evs); start += maxPutEntries {
		chunk := evs[start:min(start+maxPutEntries, len(evs))]
		entries := make([]ebtypes.PutEventsRequestEntry, len(chunk))
		for i := range chunk {
			ev := &chunk[i]
			name := bus
			if name == "" {
				name = ev.EventBusName
			}
			detail := string(ev.Detail)
			if strings.TrimSpace(detail) == "" {
				detail = "{}"
			}
			e := ebtypes.PutEventsRequestEntry{
				Source:     awssdk.String(ev.Source),
				DetailType: awssdk.String(ev.DetailType),
				Detail:     awssdk.String(detail),
				Resources:  ev.Resources,
			}
			if name != "" {
				e.EventBusName = awssdk.String(name)
			}
			if !ev.Time.IsZero() {
				e.Time = awssdk.Time(ev.Time)
			}
			entries[i] = e
		}
		res, err := b.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return out, wrapEventBridgeErr(entriesBus(bus, entries), err)
		}
		if len(res.Entries) != len(chunk) {
			return out, &providers.Error{Code: providers.Unavailable, Resource: busResource(bus),
				Err: fmt.Errorf("PutEvents returned %d result entries for %d events", len(res.Entries), len(chunk))}
		}
		failed := int32(0)
		for _, r := range res.Entries {
			pr := providers.PublishResult{EventID: awssdk.ToString(r.EventId), ErrorCode: awssdk.ToString(r.ErrorCode), ErrorMsg: awssdk.ToString(r.ErrorMessage)}
			if pr.ErrorCode == "" && pr.EventID == "" {
				// Counted as failed but without a code: say so rather than
				// report success.
				pr.ErrorCode, pr.ErrorMsg = "InternalFailure", "PutEvents returned neither an event id nor an error code"
			}
			if pr.ErrorCode != "" {
				failed++
				pr.Code = classifyEntry(pr.ErrorCode)
			}
			out = append(out, pr)
		}
		if fc := awssdk.ToInt32(&res.FailedEntryCount); fc != failed {
			return out, &providers.Error{Code: providers.Unavailable, Resource: busResource(bus),
				Err: fmt.Errorf("PutEvents said %d entries failed but %d carry an error code", fc, failed)}
		}
	}
	return out, nil
}

// entriesBus names the bus (or buses) of a PutEvents call for errors: bus
// when given, else the entries' own EventBusName ("default" only when
// they name none).
func entriesBus(bus string, entries []ebtypes.PutEventsRequestEntry) string {
	if bus != "" {
		return bus
	}
	var names []string
	for _, e := range entries {
		n := awssdk.ToString(e.EventBusName)
		if n == "" {
			n = "default"
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

func busResource(bus string) string {
	if bus == "" {
		bus = "default"
	}
	return "eventbridge bus " + bus
}

func wrapEventBridgeErr(bus string, err error) error {
	return classify(busResource(bus), err, func(c providers.Code) string {
		switch c {
		case providers.NotFound:
			return "create the bus (evcli deploy) or name an existing one with --bus"
		case providers.PermissionDenied:
			return "the credentials need events:PutEvents on the bus"
		case providers.Throttled:
			return "lower --rate or --concurrency"
		}
		return ""
	})
}

// classifyEntry maps a PutEvents entry's error code to a portable code:
// EventBridge documents InternalFailure and ThrottlingException as worth
// another try, the rest (AccessDeniedException, InvalidArgument,
// MalformedDetail, NotAuthorizedForSourceException...) as not.
func classifyEntry(code string) providers.Code {
	switch {
	case code == "InternalFailure", code == "InternalException", code == "ServiceUnavailable":
		return providers.Unavailable
	case strings.Contains(code, "Throttl"):
		return providers.Throttled
	case strings.Contains(code, "AccessDenied"), strings.HasPrefix(code, "NotAuthorized"):
		return providers.PermissionDenied
	case code == "ResourceNotFoundException":
		return providers.NotFound
	}
	return providers.InvalidArgument
}

var _ providers.EventBus = (*EventBus)(nil)

// OpenEventBus loads the AWS configuration (LoadConfig) and returns an
// EventBridge bus; AWS_ENDPOINT_URL_EVENTBRIDGE (or AWS_ENDPOINT_URL)
// points it at LocalStack.
func OpenEventBus(ctx context.Context, o Options) (*EventBus, error) {
	cfg, err := LoadConfig(ctx, o)
	if err != nil {
		return nil, err
	}
	return NewEventBus(eventbridge.NewFromConfig(cfg)), nil
}
