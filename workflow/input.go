package workflow

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/evcli/evcli/internal/asl"
)

// ReadInput reads an execution's input: inline JSON, @file, or "" for {}.
func ReadInput(arg string) (json.RawMessage, error) {
	if arg == "" {
		return json.RawMessage(`{}`), nil
	}
	b := []byte(arg)
	if strings.HasPrefix(arg, "@") {
		var err error
		if b, err = os.ReadFile(arg[1:]); err != nil {
			return nil, err
		}
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s is not valid JSON", arg)
	}
	return json.RawMessage(b), nil
}

// Correlation returns the correlation id at path in input ("" when path
// is "" or selects no string or number).
func Correlation(input []byte, path string) string {
	if path == "" {
		return ""
	}
	p, err := asl.ParsePath(path)
	if err != nil {
		return ""
	}
	var in any
	if json.Unmarshal(input, &in) != nil {
		return ""
	}
	v, err := p.Select(in, nil)
	if err != nil {
		return ""
	}
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return fmt.Sprint(t)
	}
	return ""
}
