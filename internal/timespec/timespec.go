package timespec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Day and Week are the units d and w.
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
)

// MaxDuration is the longest duration any flag accepts: 100000d (about
// 273 years), below time.Duration's own limit of about 292 years, so that
// now minus it is still a valid time.
const MaxDuration = 100_000 * Day

// DurationForms and PointForms describe the accepted forms; commands put
// them in their --help flag text and errors end with them.
const (
	DurationForms = "a duration such as 90s, 15m, 2h, 1h30m, 1.5d, 1d12h or 2w (units ns, us, ms, s, m, h, d, w)"
	PointForms    = "a duration back from now (90s, 15m, 2h, 1h30m, 1.5d, 1d12h, 2w) or a time: RFC 3339 (2026-11-01T10:00:00Z, 2026-11-01T10:00Z; UTC without a zone) or a date (2026-11-01, midnight UTC); 0 for no bound"
)

// Error is an invalid flag value. cmd maps it to a usage error (exit 2).
type Error struct {
	Flag  string // "--since"
	Value string // as the user typed it
	Msg   string // what is wrong
	Forms string // the accepted forms
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid %s %q: %s; use %s", e.Flag, e.Value, e.Msg, e.Forms)
}

var (
	errTooLong     = errors.New("too long")
	errNotDuration = errors.New("not a duration")
)

// unitNS is each unit's length in nanoseconds.
var unitNS = map[string]uint64{
	"ns": uint64(time.Nanosecond),
	"us": uint64(time.Microsecond),
	"µs": uint64(time.Microsecond), // U+00B5
	"μs": uint64(time.Microsecond), // U+03BC
	"ms": uint64(time.Millisecond),
	"s":  uint64(time.Second),
	"m":  uint64(time.Minute),
	"h":  uint64(time.Hour),
	"d":  uint64(Day),
	"w":  uint64(Week),
}

// parse reads a duration in the grammar above. A sign is allowed, as Go
// allows it; callers refuse negative values with their own words. It
// returns errTooLong when the value does not fit in a time.Duration.
func parse(s string) (time.Duration, error) {
	orig := s
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, fmt.Errorf("%q is not a duration", orig)
	}
	const limit = uint64(1) << 63 // |min int64|
	var total uint64
	for s != "" {
		if !(s[0] == '.' || '0' <= s[0] && s[0] <= '9') {
			if len(s) == len(orig) {
				return 0, errNotDuration
			}
			return 0, fmt.Errorf("expected a number at %q", s)
		}
		// Integer part.
		var v uint64
		overflow := false
		i := 0
		for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			if v > (limit-9)/10 {
				overflow = true
			}
			v = v*10 + uint64(s[i]-'0')
		}
		digits := i
		// Fraction, kept as f/scale.
		var f uint64
		scale := 1.0
		if i < len(s) && s[i] == '.' {
			i++
			for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
				digits++
				if f > (limit-9)/10 {
					continue // further digits cannot change the result
				}
				f = f*10 + uint64(s[i]-'0')
				scale *= 10
			}
		}
		if digits == 0 {
			return 0, fmt.Errorf("expected a number at %q", s)
		}
		s = s[i:]
		// Unit.
		j := 0
		for ; j < len(s) && s[j] != '.' && !('0' <= s[j] && s[j] <= '9'); j++ {
		}
		if j == 0 {
			return 0, fmt.Errorf("missing unit after the number; units are ns, us, ms, s, m, h, d, w")
		}
		u := s[:j]
		unit, ok := unitNS[u]
		if !ok {
			return 0, fmt.Errorf("unknown unit %q; units are ns, us, ms, s, m, h, d, w", u)
		}
		s = s[j:]
		if overflow || v > limit/unit {
			return 0, errTooLong
		}
		v *= unit
		if f > 0 {
			v += uint64(float64(f) * (float64(unit) / scale))
			if v > limit {
				return 0, errTooLong
			}
		}
		total += v
		if total > limit {
			return 0, errTooLong
		}
	}
	if neg {
		return -time.Duration(total), nil
	}
	if total > limit-1 {
		return 0, errTooLong
	}
	return time.Duration(total), nil
}

// ParseDuration parses a positive duration of at most max (MaxDuration
// when max is 0 or larger). flag names the flag in errors.
func ParseDuration(flag, s string, max time.Duration) (time.Duration, error) {
	if max <= 0 || max > MaxDuration {
		max = MaxDuration
	}
	fail := func(msg string) (time.Duration, error) {
		return 0, &Error{Flag: flag, Value: s, Msg: msg, Forms: DurationForms}
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return fail("it is empty")
	}
	d, err := parse(t)
	switch {
	case errors.Is(err, errTooLong):
		return fail("at most " + Format(max))
	case err != nil:
		return fail(err.Error())
	case d < 0:
		return fail("a duration counts back from now, so write it without '-'")
	case d == 0:
		return fail("it must be longer than 0")
	case d > max:
		return fail("at most " + Format(max))
	}
	return d, nil
}

// pointLayouts are the absolute forms ParsePoint accepts, most common first.
var pointLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02",
}

// ParsePoint parses a point in time: a duration back from now (at most
// MaxDuration), an RFC 3339 time or a date. "" and a zero duration ("0",
// "0s", "0d") are the zero time: no bound, as kubectl logs --since=0 means
// all logs. Absolute times are returned in UTC.
func ParsePoint(flag, s string, now time.Time) (time.Time, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return time.Time{}, nil
	}
	fail := func(msg string) (time.Time, error) {
		return time.Time{}, &Error{Flag: flag, Value: s, Msg: msg, Forms: PointForms}
	}
	if len(t) >= 10 && isDigit(t[0]) && t[4] == '-' { // 2026-11-01...
		for _, layout := range pointLayouts {
			if p, err := time.Parse(layout, t); err == nil {
				return p.UTC(), nil
			}
		}
		return fail("not a valid RFC 3339 time or date")
	}
	d, err := parse(t)
	switch {
	case errors.Is(err, errNotDuration):
		return fail("not a duration or a time")
	case errors.Is(err, errTooLong):
		return fail("at most " + Format(MaxDuration) + " back; use an RFC 3339 time for older events")
	case err != nil:
		return fail(err.Error())
	case d < 0:
		return fail("a duration counts back from now, so write it without '-'")
	case d > MaxDuration:
		return fail("at most " + Format(MaxDuration) + " back; use an RFC 3339 time for older events")
	case d == 0:
		return time.Time{}, nil
	}
	return now.Add(-d), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Format renders d > 0 in the grammar, largest units first and without
// weeks: 7d, 1d12h, 1h30m, 1.5s; ParseDuration(Format(d)) == d. Other
// values render as Go renders them.
func Format(d time.Duration) string {
	if d <= 0 {
		return d.String()
	}
	var b []byte
	if days := d / Day; days > 0 {
		b = strconv.AppendInt(b, int64(days), 10)
		b = append(b, 'd')
		d -= days * Day
		if d == 0 {
			return string(b)
		}
	}
	s := d.String() // under a day: 12h0m0s, 1h30m0s, 10m0s, 1.5s, 500ms
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return string(b) + s
}
