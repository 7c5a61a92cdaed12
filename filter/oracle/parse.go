package oracle

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ParseJ decodes JSON text into a J, keeping member order, repeated names
// and number spellings.
func ParseJ(s string) (*J, error) {
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	j, err := readJ(d)
	if err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return j, nil
}

func readJ(d *json.Decoder) (*J, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch v := t.(type) {
	case json.Delim:
		if v == '{' {
			o := &J{K: 'o'}
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				val, err := readJ(d)
				if err != nil {
					return nil, err
				}
				o.Keys = append(o.Keys, k.(string))
				o.Vals = append(o.Vals, val)
			}
			_, err := d.Token()
			return o, err
		}
		a := &J{K: 'a'}
		for d.More() {
			val, err := readJ(d)
			if err != nil {
				return nil, err
			}
			a.Vals = append(a.Vals, val)
		}
		_, err := d.Token()
		return a, err
	case string:
		return str(v), nil
	case json.Number:
		return num(string(v)), nil
	case bool:
		if v {
			return lit("true"), nil
		}
		return lit("false"), nil
	}
	return lit("null"), nil
}
