package tail

// invocations attributes the lines of a log stream to the request between
// its "START RequestId: X" and "END RequestId: X": Lambda runs one request
// at a time per stream (execution environment), so a line printed there
// without a request id of its own (a plain console.log, a runtime that
// does not prefix one) belongs to X. Lines outside any START/END keep no
// id. Used from one goroutine (Run's merge loop).
type invocations struct {
	open map[string]string // function + stream -> request id
}

func newInvocations() *invocations { return &invocations{open: map[string]string{}} }

func (v *invocations) attribute(r Record) Record {
	if r.Stream == "" {
		return r
	}
	key := r.Function + "\x00" + r.Stream
	switch r.Kind {
	case KindStart:
		if r.RequestID != "" {
			v.open[key] = r.RequestID
		}
	case KindEnd:
		delete(v.open, key)
	default:
		if r.RequestID == "" {
			r.RequestID = v.open[key]
		}
	}
	return r
}
