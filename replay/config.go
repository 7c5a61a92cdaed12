package replay

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/evcli/evcli/providers"
)

// Limits of one PutEvents request, which every bus honours unless it says
// it takes more (Config.MaxBatchEntries, Config.MaxBatchBytes).
const (
	MaxBatchEntries = 10
	MaxBatchBytes   = 256 * 1024
)

// Caps on Config.MaxBatchEntries and Config.MaxBatchBytes for a bus that
// takes more than a PutEvents request in one call (the local bus).
const (
	maxBatchEntriesCap = 10_000
	maxBatchBytesCap   = 16 << 20
)

// Selection says which stored events a replay publishes. It is stored with
// the replay's record, with Since and Until made absolute, so that a resumed
// replay selects exactly the same events.
type Selection struct {
	Since      time.Time `json:"since"`
	Until      time.Time `json:"until"` // exclusive; a replay fixes it to its start time when not given
	Aggregates []string  `json:"aggregates,omitempty"`
	Types      []string  `json:"types,omitempty"`
	// Pattern is the source text of --pattern (the compiled matcher is
	// Config.Match), kept so that --resume can compile it again.
	Pattern string `json:"pattern,omitempty"`
	// Limit caps the number of events selected, counted in replay order.
	Limit int   `json:"limit,omitempty"`
	Order Order `json:"order"`
	// IncludeReplays selects events that are themselves replays (their
	// detail carries a _replay marker); by default they are left out, so
	// replaying a window twice does not replay the first replay.
	IncludeReplays bool `json:"includeReplays,omitempty"`
}

// Config is one replay.
type Config struct {
	// Name identifies the replay: its checkpoint, its marker and its entry
	// in `evcli replay list`.
	Name string
	// Provider is recorded with the replay (for `replay list`).
	Provider string
	// Bus is the bus the events are published to.
	Bus       string
	Selection Selection
	// Match is the compiled --pattern: it gets the event's EventBridge
	// envelope as JSON. Nil selects everything.
	Match func(event []byte) (bool, error)
	// Resume continues the replay Name from its checkpoint; its Selection
	// must be the stored one.
	Resume bool

	// Concurrency bounds the batches sent and not yet covered by a durable
	// checkpoint (default 1): what a kill -9 may publish twice. An
	// aggregate's next batch always waits for its previous one.
	Concurrency int
	// Rate paces publishing, in events per second (0: as fast as the bus
	// takes them). Batches are capped at ceil(Rate) entries.
	Rate float64
	// MaxAttempts is how often an entry is tried before it counts as failed
	// (default 6); BackoffBase (default 200ms) doubles each retry up to
	// BackoffMax (default 10s).
	MaxAttempts             int
	BackoffBase, BackoffMax time.Duration
	// MaxBatchEntries and MaxBatchBytes bound one Publish call; they
	// default to PutEvents' limits (10 entries, 256 KiB). A bus that takes
	// more in one call may be given more (up to 10,000 entries and 16 MiB):
	// the local bus stores a call in one transaction, so larger batches
	// cost less per event (cmd sets bus.PublishBatchEntries for it). A
	// batch is the unit that a kill -9 may publish twice.
	MaxBatchEntries, MaxBatchBytes int

	// SpillDir is where sorted runs go (default os.TempDir()) once more than
	// SpillThreshold bytes of events are selected (default 32 MiB).
	SpillDir       string
	SpillThreshold int64

	// Now and Sleep are the clock; tests inject fakes.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	// OnProgress is called as events are read and batches acknowledged,
	// from one goroutine at a time.
	OnProgress func(Progress)
	// OnGap is called for each gap in an aggregate's versions.
	OnGap func(Gap)
	// OnPublished is called after each acknowledged batch with the events
	// the bus accepted (with their replay ids): the hook `--wait` uses to
	// wait for the deliveries a replay caused.
	OnPublished func(ctx context.Context, published []providers.Event)
	// Targets maps an event to the rules or functions that would receive
	// it (dry run only).
	Targets func(ev providers.Event) []string
}

func (c *Config) defaults() {
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 6
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 200 * time.Millisecond
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 10 * time.Second
	}
	if c.MaxBatchEntries <= 0 {
		c.MaxBatchEntries = MaxBatchEntries
	}
	c.MaxBatchEntries = min(c.MaxBatchEntries, maxBatchEntriesCap)
	if c.Rate > 0 && float64(c.MaxBatchEntries) > c.Rate {
		c.MaxBatchEntries = max(1, int(c.Rate+0.999999))
	}
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = MaxBatchBytes
	}
	c.MaxBatchBytes = min(c.MaxBatchBytes, maxBatchBytesCap)
	if c.Selection.Order == "" {
		c.Selection.Order = OrderAggregate
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = providers.Sleep
	}
}

// InputError is an invalid flag or value; cmd maps it to exit code 2.
type InputError struct {
	Field string // the flag or field, e.g. "--since"
	Msg   string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// ParseRate parses --rate: "N", "N/s", "N/m" or "N/min" (events per second
// or minute). It returns events per second; "" and "0" mean unlimited.
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	num, unit, _ := strings.Cut(s, "/")
	per := 1.0
	switch unit {
	case "", "s", "sec":
	case "m", "min":
		per = 60
	default:
		return 0, &InputError{Field: "--rate", Msg: fmt.Sprintf("invalid unit %q in %q: use N/s or N/m, e.g. 100/s", unit, s)}
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 || n != n {
		return 0, &InputError{Field: "--rate", Msg: fmt.Sprintf("invalid rate %q: use a positive number of events per second or minute, e.g. 100/s or 600/m", s)}
	}
	return n / per, nil
}
