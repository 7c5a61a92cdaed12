// Package timespec is the one grammar for evcli's --since, --until and
// window flags, so that tail, replay, filter test and tune memory accept
// the same spellings and refuse the same mistakes with the same words.
//
// A duration is a Go duration with two more units, d (24h) and w (7d):
// a sequence of decimal numbers, each with an optional fraction and a unit
// (ns, us, µs, ms, s, m, h, d, w), such as 90s, 1h30m, 1.5d, 1d12h or 2w.
// A point in time is a duration back from now, an RFC 3339 time
// (2026-11-01T10:00:00Z, with or without seconds, with or without a zone,
// UTC when none) or a date (2026-11-01, midnight UTC).
//
// Errors are *Error: they name the flag and the value, say what is wrong,
// and list the accepted forms. A duration longer than the caller's maximum
// (at most MaxDuration) is refused with the maximum, whatever its unit.
package timespec
