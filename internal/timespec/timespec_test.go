package timespec

import (
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		max     time.Duration
		want    time.Duration
		wantErr string
	}{
		// Go durations.
		{"90s", 0, 90 * time.Second, ""},
		{"15m", 0, 15 * time.Minute, ""},
		{"36h", 0, 36 * time.Hour, ""},
		{"1h30m", 0, 90 * time.Minute, ""},
		{"1.5h", 0, 90 * time.Minute, ""},
		{".5h", 0, 30 * time.Minute, ""},
		{"500ms", 0, 500 * time.Millisecond, ""},
		{"2µs", 0, 2 * time.Microsecond, ""},
		{" 2h ", 0, 2 * time.Hour, ""},
		{"+2h", 0, 2 * time.Hour, ""},
		// Days and weeks, fractions and compound forms.
		{"7d", 0, 7 * Day, ""},
		{"1.5d", 0, 36 * time.Hour, ""},
		{"0.5d", 0, 12 * time.Hour, ""},
		{"1d12h", 0, 36 * time.Hour, ""},
		{"2w", 0, 14 * Day, ""},
		{"1w2d3h4m5s", 0, Week + 2*Day + 3*time.Hour + 4*time.Minute + 5*time.Second, ""},
		{"1.5w", 0, 10*Day + 12*time.Hour, ""},
		// The maximum, whatever the unit (issue 15: 1000w was accepted
		// while 3661d was refused).
		{"3660d", 3660 * Day, 3660 * Day, ""},
		{"3661d", 3660 * Day, 0, "at most 3660d"},
		{"1000w", 3660 * Day, 0, "at most 3660d"},
		{"522w6d", 3660 * Day, 3660 * Day, ""},
		{"522w7d", 3660 * Day, 0, "at most 3660d"},
		{"87841h", 3660 * Day, 0, "at most 3660d"},
		{"100000d", 0, MaxDuration, ""},
		{"100001d", 0, 0, "at most 100000d"},
		{"15000w", 0, 0, "at most 100000d"},
		{"16000w", 0, 0, "at most 100000d"}, // past int64 nanoseconds
		{"9999999999999999999999d", 0, 0, "at most 100000d"},
		{"9223372036854775807ns", 0, 0, "at most 100000d"},
		{"2562047h", 0, 0, "at most 100000d"},
		// Mistakes.
		{"", 0, 0, "it is empty"},
		{"0", 0, 0, "longer than 0"},
		{"0d", 0, 0, "longer than 0"},
		{"-1h", 0, 0, "without '-'"},
		{"d", 0, 0, "not a duration"},
		{"1hx2", 0, 0, `unknown unit "hx"`},
		{"1h-2m", 0, 0, `unknown unit "h-"`},
		{"7", 0, 0, "missing unit"},
		{"7x", 0, 0, `unknown unit "x"`},
		{"2days", 0, 0, `unknown unit "days"`},
		{"1d 12h", 0, 0, `unknown unit "d "`},
		{".d", 0, 0, "expected a number"},
		{"-", 0, 0, "not a duration"},
	}
	for _, tt := range tests {
		got, err := ParseDuration("--since", tt.in, tt.max)
		if tt.wantErr != "" {
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tt.wantErr) ||
				!strings.HasPrefix(err.Error(), `invalid --since "`+tt.in+`": `) || !strings.HasSuffix(err.Error(), DurationForms) {
				t.Errorf("ParseDuration(%q) = %v, %v; want an *Error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParsePoint(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"", time.Time{}, ""},
		{"2h", now.Add(-2 * time.Hour), ""},
		{"90s", now.Add(-90 * time.Second), ""},
		{"7d", now.Add(-7 * Day), ""},
		{"1.5d", now.Add(-36 * time.Hour), ""},
		{"1d12h", now.Add(-36 * time.Hour), ""},
		{"2w", now.Add(-14 * Day), ""},
		{"0", time.Time{}, ""},
		{"0d", time.Time{}, ""},
		{"2026-11-01T10:00:00Z", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), ""},
		{"2026-11-01T10:00:00.5Z", time.Date(2026, 11, 1, 10, 0, 0, 5e8, time.UTC), ""},
		{"2026-11-01T10:00Z", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), ""},
		{"2026-11-01T10:00:30+01:00", time.Date(2026, 11, 1, 9, 0, 30, 0, time.UTC), ""},
		{"2026-11-01T10:00:30", time.Date(2026, 11, 1, 10, 0, 30, 0, time.UTC), ""},
		{"2026-11-01T10:00", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), ""},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ""},
		{"2x", time.Time{}, `invalid --since "2x": unknown unit "x"`},
		{"-2h", time.Time{}, "without '-'"},
		{"9999999999d", time.Time{}, "at most 100000d back"},
		{"100001d", time.Time{}, "at most 100000d back"},
		{"yesterday", time.Time{}, `invalid --since "yesterday": not a duration or a time; use a duration back from now`},
		{"2026-13-01", time.Time{}, "not a valid RFC 3339 time or date"},
		{"2026-11-01 10:00", time.Time{}, "not a valid RFC 3339 time or date"},
	}
	for _, tt := range tests {
		got, err := ParsePoint("--since", tt.in, now)
		if tt.wantErr != "" {
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasSuffix(err.Error(), PointForms) {
				t.Errorf("ParsePoint(%q) = %v, %v; want an *Error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParsePoint(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7 * Day:                             "7d",
		36 * time.Hour:                      "1d12h",
		90 * time.Minute:                    "1h30m",
		time.Hour + 10*time.Minute:          "1h10m",
		time.Hour + 5*time.Second:           "1h0m5s",
		10 * time.Minute:                    "10m",
		1500 * time.Millisecond:             "1.5s",
		Day + 500*time.Millisecond:          "1d500ms",
		3660 * Day:                          "3660d",
		time.Duration(1<<63 - 1):            "106751d23h47m16.854775807s",
		2*Day + time.Hour + time.Nanosecond: "2d1h0m0.000000001s",
	} {
		if got := Format(d); got != want {
			t.Errorf("Format(%v) = %q, want %q", d, got, want)
		}
	}
}

// refDuration is an independent reading of the grammar in exact
// arithmetic, the fuzz targets' oracle.
var refSyntax = regexp.MustCompile(`^[+-]?(0|((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w))+)$`)
var refPart = regexp.MustCompile(`(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)`)

func refDuration(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	if !refSyntax.MatchString(s) {
		return nil, false
	}
	sum := new(big.Rat)
	for _, m := range refPart.FindAllStringSubmatch(s, -1) {
		n, ok := new(big.Rat).SetString(strings.TrimSuffix(m[1], "."))
		if !ok {
			return nil, false
		}
		unit := unitNS[m[2]]
		sum.Add(sum, n.Mul(n, new(big.Rat).SetInt64(int64(unit))))
	}
	if strings.HasPrefix(s, "-") {
		sum.Neg(sum)
	}
	return sum, true
}

// FuzzParseDuration: no panic; the result agrees with exact arithmetic
// (within a nanosecond per part, for fractions); anything longer than the
// maximum is refused, whatever its unit; Format parses back to the value.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"7d", "36h", "90m", "1h30m", "2w", "0d", "-1h", "", "d", "9999999d", "1000w", "3661d", "1.5d", "1d12h", "522w6d", ".5h", "1.h"} {
		f.Add(s)
	}
	const max = 3660 * Day
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration("--since", s, max)
		ref, ok := refDuration(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseDuration(%q) error %v is not an *Error", s, err)
			}
			// Refused: the grammar says no, or the value is not in (0, max].
			if ok && ref.Cmp(new(big.Rat).SetInt64(int64(time.Microsecond))) > 0 && ref.Cmp(new(big.Rat).SetInt64(int64(max-time.Microsecond))) < 0 {
				t.Fatalf("ParseDuration(%q) = %v, but it is %s ns", s, err, ref.FloatString(0))
			}
			return
		}
		if !ok {
			t.Fatalf("ParseDuration(%q) = %v, but the grammar refuses it", s, d)
		}
		if d <= 0 || d > max {
			t.Fatalf("ParseDuration(%q) = %v, outside (0, %v]", s, d, max)
		}
		diff := new(big.Rat).Sub(ref, new(big.Rat).SetInt64(int64(d)))
		if diff.Abs(diff).Cmp(new(big.Rat).SetInt64(int64(len(s)))) > 0 {
			t.Fatalf("ParseDuration(%q) = %d ns, exact value %s ns", s, d, ref.FloatString(3))
		}
		d2, err := ParseDuration("--since", Format(d), max)
		if err != nil || d2 != d {
			t.Fatalf("round trip %q -> %v -> %q -> %v, %v", s, d, Format(d), d2, err)
		}
	})
}

// FuzzParsePoint: no panic; an accepted value formats as RFC 3339 and
// parses back to the same instant; a duration back agrees with
// ParseDuration.
func FuzzParsePoint(f *testing.F) {
	for _, s := range []string{"2h", "7d", "1d12h", "1.5d", "2w", "2026-11-01T10:00Z", "2026-11-01T10:00:30+01:00", "2026-11-01", "", "d", "9999999999999d", "0", "2026-13-01"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParsePoint("--since", s, now)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParsePoint(%q) error %v is not an *Error", s, err)
			}
			return
		}
		if got.IsZero() {
			// No bound: for "" and a zero duration (or 0001-01-01).
			if d, err := parse(strings.TrimSpace(s)); err == nil && d != 0 {
				t.Fatalf("ParsePoint(%q) = the zero time", s)
			}
			return
		}
		again, err := ParsePoint("--since", got.Format(time.RFC3339Nano), now)
		if err != nil || !again.Equal(got) {
			t.Fatalf("ParsePoint(%q) = %v; reparse = %v, %v", s, got, again, err)
		}
		if d, err := ParseDuration("--since", s, 0); err == nil && !got.Equal(now.Add(-d)) {
			t.Fatalf("ParsePoint(%q) = %v, ParseDuration = %v", s, got, d)
		}
	})
}
