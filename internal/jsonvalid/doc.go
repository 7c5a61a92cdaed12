// Package jsonvalid checks JSON syntax, with exactly the answers of
// encoding/json.Valid, several times faster: strings are scanned eight bytes
// at a time, and nothing is allocated. The local bus and store check every
// event's detail on its way in and out, so this shows in their throughput.
package jsonvalid
