package providers

import "testing"

func TestIsReplayDetail(t *testing.T) {
	for _, c := range []struct {
		detail string
		want   bool
	}{
		{`{"_replay":{"replay-name":"r","replayed":true},"a":1}`, true}, // as replay.Mark writes it
		{` {"_replay":{}} `, true},
		{`{"a":1,"_replay":{"replayed":true}}`, true},                // not first
		{`{"a":{"_replay":{"replayed":true}}}`, false},               // nested: not a marker
		{`{"a":"_replay"}`, false},                                   // a value
		{`{"note":"\"_replay\": is how replays are marked"}`, false}, // inside a string
		{`{"a":1}`, false},
		{`{}`, false},
		{`{"_replay":`, true}, // the prefix alone decides; the store rejects invalid JSON first
		{`not json "_replay"`, false},
	} {
		if got := IsReplayDetail([]byte(c.detail)); got != c.want {
			t.Errorf("IsReplayDetail(%s) = %v, want %v", c.detail, got, c.want)
		}
	}
}
