// Package filter parses, validates, compiles and matches Amazon EventBridge
// event patterns with the service's semantics, and explains why an event did
// or did not match.
//
// A Pattern is parsed and validated by Parse; an invalid pattern is reported
// as a *PatternError naming the JSON path of the offending part (for example
// `detail.price[0].numeric`) and what would be valid there. Pattern.Match and
// Pattern.Explain evaluate one pattern against one event by walking a decoded
// copy of the event; they are the reference semantics.
//
// A RuleSet compiles many patterns into one matcher: the event is scanned
// once by a hand-written JSON scanner that descends only into the fields some
// pattern names (and stops as soon as every named field has been seen), each
// leaf value is looked up in per-field indexes (hash maps for exact and
// case-folded values, prefix and suffix maps by length, a segment table for
// numeric ranges), and rules are selected by counting satisfied conditions.
// The cost of a match therefore grows with the fields the patterns use and the
// values the event holds, not with the number of rules.
//
// The scanner's hot paths: member names are looked up in a per-object open-
// addressing table keyed by their first (and last) 8 bytes; members no rule
// reads are passed over by a call-free loop that finds closing quotes a word
// at a time; unread objects and arrays are skipped 64 bytes at a time from
// quote, backslash and bracket bit masks (SSE2 on amd64, whole blocks in AVX2
// with a carry-less multiply for the in-string mask where the CPU has it);
// numbers are parsed 8 digits at a time, and a 17-19 digit number is placed
// among the numeric bounds from its two-rounding approximation unless a bound
// lies within that error (then strconv decides). A field with eight or more
// wildcards keeps them in a table keyed by the first bytes of their first
// piece (as many as the shortest first piece has, up to 8). Each
// object node remembers, per match state, the names of the first 16 members of
// the last event by position (predSlot): when the next event has the same name
// at a position, one masked word compare and a 16-bit quote-and-colon check
// replace the closing-quote search and the table probe. Short string values
// are compared as a head and a tail word (exact values, prefixes, suffixes,
// wildcard ends, small equals-ignore-case lists; ASCII folded 8 bytes at a
// time); larger sets of exact, case-folded, prefix and suffix values are open-
// addressing tables probed by those words (strTable), each with a 256-bit
// bloom word in its header that turns most absent values away without
// reading a slot. On little-endian amd64,
// arm64, 386 and ppc64le those word reads are single unaligned loads after
// explicit length checks (TestNoOverRead puts events against an unreadable
// page; TestNoReadPastLen gives them spare capacity there: no read goes past
// an event's length). Before scanning, the cache lines the last event needed
// are requested with prefetch hints, and as many past the event's end (a hint
// reads nothing and never faults): in a file or a store page those lines are
// the next event's. A condition that anchors no conjunction is checked
// against the field's value (for strings: its exact values, prefixes,
// suffixes, ignore-case operators, wildcards, cidrs, exists and
// anything-but) only when its conjunction's anchor held.
//
// Semantics (as EventBridge):
//   - every field named in a pattern must match (AND); a field matches when any
//     of its candidates matches any of the event's values at that path (OR);
//     event arrays are searched element by element, nested arrays flattened;
//   - fields matched inside objects that are elements of one event array must
//     all come from the same element;
//   - "$or": [ {...}, {...} ] (two or more objects) may appear at any depth;
//   - operators: exact values (strings — an IP address matches any spelling of
//     it —, numbers compared by value when exactly a double and by text
//     otherwise, true, false, null), exactly, prefix, suffix (each also
//     {"equals-ignore-case": ...}), equals-ignore-case (each character
//     matches its Java lower or upper case, as event-ruler), wildcard,
//     anything-but (value, list, prefix or suffix or a list of them,
//     equals-ignore-case, wildcard), numeric, exists, cidr (IPv4 and IPv6,
//     mask required, at most /31 and /127);
//   - a field given twice (also again inside an $or branch) is read as
//     event-ruler reads it: the last one wins, path by path;
//   - under an array of objects, an exists:false with no other field
//     selecting an element holds only when no element has the field;
//   - anything-but matches a present scalar value that the wrapped matcher does
//     not match (so a missing field never matches anything-but);
//   - exists:true needs a scalar value (null counts) at the path; a missing
//     field, an object or an empty array does not exist.
//
// Where evcli and event-ruler (EventBridge's engine) differ, and why, is
// COMPATIBILITY.md; the differential fuzzer that found the differences is
// filter/oracle, and testdata/oracle/corpus.jsonl holds event-ruler's
// verdicts that the tests check. Pattern.CompatNotes names the constructs
// of a pattern that list covers. When an event repeats a member name, the
// first occurrence is used (event-ruler uses all or the last, by entry
// point: a deliberate difference, decided in COMPATIBILITY.md). Only the
// parts of an event a RuleSet reads are checked for JSON syntax; Pattern.Match
// checks the whole event. RuleSet.AppendMatches does not allocate when the
// destination has room; a rule whose $or expands to more than 4096
// conjunctions, or an exists:false inside arrays of objects, is decided on
// the decoded event instead (correct, slower).
//
// Errors: Parse returns *PatternError; matching an event that is not a JSON
// object returns an error wrapping ErrNotObject (and a *SyntaxError with
// line and column when it is not JSON). Event files are read by
// providers.ReadEvents, the one reader of event files, with its
// *providers.EventInputError at file:line:col.
//
// The package has no provider dependencies; the local bus and the
// `evcli filter` and `evcli replay --pattern` commands use it.
package filter
