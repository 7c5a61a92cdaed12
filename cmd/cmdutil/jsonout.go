package cmdutil

import (
	"encoding/json"
	"io"
	"sync"
)

// SchemaVersion is the version of evcli's -o json line schema. The first line
// of every -o json stream is {"type":"version","schema":SchemaVersion,"command":...}.
const SchemaVersion = "1"

// JSONLines writes one JSON object per line; safe for concurrent use.
type JSONLines struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSONLines returns a writer to w that first writes the version line for command.
func NewJSONLines(w io.Writer, command string) *JSONLines {
	j := &JSONLines{enc: json.NewEncoder(w)}
	j.enc.SetEscapeHTML(false)
	_ = j.Write(map[string]string{"type": "version", "schema": SchemaVersion, "command": command})
	return j
}

// Write encodes v as one line.
func (j *JSONLines) Write(v any) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.enc.Encode(v)
}
