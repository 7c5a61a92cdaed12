package awstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequest sends arbitrary requests to every service's parser: the fake
// never panics and always answers a JSON or XML error, or a success.
func FuzzRequest(f *testing.F) {
	f.Add("lambda", "POST", "/2015-03-31/functions", `{"FunctionName":"f","Role":"arn:aws:iam::123456789012:role/r","Code":{"ZipFile":"UEs="}}`)
	f.Add("lambda", "GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af%3Alive", "")
	f.Add("lambda", "DELETE", "/2017-03-31/tags/arn:aws:lambda:us-east-1:1:function:f?tagKeys=a", "")
	f.Add("iam", "POST", "/", "Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D&Tags.member.1.Key=k&Version=2010-05-08")
	f.Add("events", "POST", "/", `{"Entries":[{"Source":"s","DetailType":"d","Detail":"{}"}]}`)
	f.Add("logs", "POST", "/", `{"logGroupName":"/aws/lambda/f","tags":{"a":"b"}}`)
	f.Add("s3", "PUT", "/bucket/key%2Fwith%20space", "data")
	f.Fuzz(func(t *testing.T, service, method, path, body string) {
		s := New(WithSettleReads(0))
		defer s.Close()
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		r, err := http.NewRequest(method, "http://127.0.0.1"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261126/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=x")
		switch service {
		case "iam", "sts":
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		case "events":
			r.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
		case "logs":
			r.Header.Set("X-Amz-Target", "Logs_20140328.CreateLogGroup")
		case "lambda":
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		s.serveHTTP(w, r)
		if w.Code >= 400 && method != http.MethodHead {
			b := w.Body.Bytes()
			if !json.Valid(b) && !bytes.Contains(b, []byte("<Code>")) {
				t.Fatalf("%s %s %s: error %d without an error body: %q", service, method, path, w.Code, b)
			}
		}
		if calls := s.Calls(); len(calls) != 1 || calls[0].Status != w.Code {
			t.Fatalf("calls = %+v, status %d", calls, w.Code)
		}
	})
}

// FuzzAWSChunked checks the aws-chunked decoder: no panic, and encoding
// then decoding gives the data back.
func FuzzAWSChunked(f *testing.F) {
	f.Add([]byte("hello world"), 4)
	f.Add([]byte(""), 1)
	f.Add([]byte("5\r\nhello\r\n0\r\n"), 3)
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		r := httptest.NewRequest("PUT", "/b/k", nil)
		r.Header.Set("Content-Encoding", "aws-chunked")
		decodeAWSChunked(r, data) // arbitrary input: must not panic
		if chunk <= 0 || chunk > 1<<16 {
			return
		}
		var enc bytes.Buffer
		for rest := data; len(rest) > 0; {
			n := min(chunk, len(rest))
			fmt.Fprintf(&enc, "%x;chunk-signature=abc\r\n", n)
			enc.Write(rest[:n])
			enc.WriteString("\r\n")
			rest = rest[n:]
		}
		enc.WriteString("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")
		got, err := decodeAWSChunked(r, enc.Bytes())
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip: %q, %v; want %q", got, err, data)
		}
	})
}
