package aws

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/encoding/cbor"
)

// tuneFake speaks the wire protocols the tune driver uses:
//   - CloudWatch GetMetricData in Smithy RPC v2 CBOR (what the pinned
//     service/cloudwatch sends: POST /service/GraniteServiceVersion20100801/operation/GetMetricData)
//   - CloudWatch Logs StartQuery/GetQueryResults/StopQuery in AWS JSON 1.1
//     (X-Amz-Target: Logs_20140328.*)
//   - Lambda's REST-JSON API (/2015-03-31/functions/...)
type tuneFake struct {
	t   *testing.T
	srv *httptest.Server

	mu sync.Mutex
	// CloudWatch
	metricSums  map[string][]float64 // metric name -> values per period
	metricCalls int
	metricReqs  []cbor.Map
	// Logs
	logRows     [][]map[string]string
	logPages    int // split the rows into this many pages
	queryPolls  int // GetQueryResults answers Running this many times first
	startInputs []map[string]any
	stopped     []string
	deletedLogs []string
	// Lambda
	funcs       map[string]*fakeFunc
	created     []string
	createIns   []map[string]any
	deleted     []string
	updates     []int
	invokes     int
	failCreate  bool                              // create the function, then answer 500
	failInvoke  int                               // answer the Nth invoke (1-based) with a 500
	onInvoke    func(n int, r *http.Request) bool // return false to stop handling (after cancelling)
	updatePolls int
}

type fakeFunc struct {
	conf   map[string]any
	polls  int
	warm   bool
	memory int
	// failUpdate makes an update end Failed instead of Successful.
	failUpdate bool
}

func newTuneFake(t *testing.T) *tuneFake {
	f := &tuneFake{t: t, metricSums: map[string][]float64{}, funcs: map[string]*fakeFunc{}, logPages: 1}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *tuneFake) config() aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint:     aws.String(f.srv.URL),
		RetryMaxAttempts: 1,
	}
}

func (f *tuneFake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch {
	case strings.HasPrefix(r.URL.Path, "/service/GraniteServiceVersion20100801/operation/"):
		f.cloudwatch(w, r, body)
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328."):
		f.logs(w, r, body)
	case strings.HasPrefix(r.URL.Path, "/2015-03-31/functions"):
		f.lambda(w, r, body)
	case r.URL.Path == "/code.zip":
		w.Write([]byte("PK-fake-zip"))
	default:
		http.Error(w, "unknown "+r.URL.Path, 404)
	}
}

func (f *tuneFake) cloudwatch(w http.ResponseWriter, r *http.Request, body []byte) {
	op := strings.TrimPrefix(r.URL.Path, "/service/GraniteServiceVersion20100801/operation/")
	if op != "GetMetricData" || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || r.Header.Get("Content-Type") != "application/cbor" {
		f.t.Errorf("cloudwatch: unexpected %s %v", op, r.Header)
		w.WriteHeader(400)
		return
	}
	v, err := cbor.Decode(body)
	if err != nil {
		f.t.Errorf("cloudwatch: bad CBOR: %v", err)
		w.WriteHeader(400)
		return
	}
	req := v.(cbor.Map)
	f.mu.Lock()
	f.metricCalls++
	f.metricReqs = append(f.metricReqs, req)
	f.mu.Unlock()
	start, _ := cbor.AsTime(req["StartTime"])
	var results cbor.List
	page := 0
	if tok, ok := req["NextToken"].(cbor.String); ok && tok == "page2" {
		page = 1
	}
	for _, q := range req["MetricDataQueries"].(cbor.List) {
		qm := q.(cbor.Map)
		ms := qm["MetricStat"].(cbor.Map)
		metric := string(ms["Metric"].(cbor.Map)["MetricName"].(cbor.String))
		vals := f.metricSums[metric]
		// page 0 gets the first half of the values, page 1 the rest
		half := len(vals) / 2
		part := vals[:half]
		if page == 1 {
			part = vals[half:]
		}
		var ts, vs cbor.List
		for i, x := range part {
			ts = append(ts, &cbor.Tag{ID: 1, Value: cbor.Float64(float64(start.Add(time.Duration(i) * time.Hour).Unix()))})
			vs = append(vs, cbor.Float64(x))
		}
		results = append(results, cbor.Map{"Id": qm["Id"], "Label": cbor.String(metric), "StatusCode": cbor.String("Complete"), "Timestamps": ts, "Values": vs})
	}
	out := cbor.Map{"MetricDataResults": results, "Messages": cbor.List{}}
	if page == 0 {
		out["NextToken"] = cbor.String("page2")
	}
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Write(cbor.Encode(out))
}

func (f *tuneFake) logs(w http.ResponseWriter, r *http.Request, body []byte) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		f.t.Errorf("logs: content type %q", ct)
	}
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch op {
	case "StartQuery":
		f.startInputs = append(f.startInputs, in)
		if in["logGroupName"] == "/aws/lambda/missing" {
			w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"__type":"ResourceNotFoundException","message":"The specified log group does not exist."}`)
			return
		}
		fmt.Fprint(w, `{"queryId":"q-1"}`)
	case "GetQueryResults":
		if f.queryPolls > 0 {
			f.queryPolls--
			fmt.Fprint(w, `{"status":"Running","results":[]}`)
			return
		}
		page := 0
		if tok, _ := in["nextToken"].(string); tok != "" {
			fmt.Sscanf(tok, "p%d", &page)
		}
		per := (len(f.logRows) + f.logPages - 1) / max(f.logPages, 1)
		lo, hi := min(page*per, len(f.logRows)), min((page+1)*per, len(f.logRows))
		var rows [][]map[string]string
		for _, row := range f.logRows[lo:hi] {
			rows = append(rows, row)
		}
		out := map[string]any{"status": "Complete", "results": rows}
		if hi < len(f.logRows) {
			out["nextToken"] = fmt.Sprintf("p%d", page+1)
		}
		json.NewEncoder(w).Encode(out)
	case "DeleteLogGroup":
		f.deletedLogs = append(f.deletedLogs, in["logGroupName"].(string))
		fmt.Fprint(w, `{}`)
	case "StopQuery":
		f.stopped = append(f.stopped, in["queryId"].(string))
		fmt.Fprint(w, `{"success":true}`)
	default:
		f.t.Errorf("logs: unexpected %s", op)
		w.WriteHeader(400)
	}
}

func lambdaError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-Errortype", typ)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"Type":"User","message":%q}`, msg)
}

func (f *tuneFake) addFunction(name string, memory int) {
	f.funcs[name] = &fakeFunc{memory: memory, conf: map[string]any{
		"FunctionName": name, "Runtime": "nodejs22.x", "Handler": "index.handler", "Role": "arn:aws:iam::123456789012:role/r",
		"MemorySize": memory, "Timeout": 10, "PackageType": "Zip", "Architectures": []string{"arm64"},
		"Environment": map[string]any{"Variables": map[string]string{"TABLE": "orders"}},
		"State":       "Active", "LastUpdateStatus": "Successful",
	}, warm: true}
}

func (f *tuneFake) lambda(w http.ResponseWriter, r *http.Request, body []byte) {
	rest := strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions")
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	name := parts[0]
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	fn := f.funcs[name]
	switch {
	case r.Method == http.MethodPost && rest == "":
		var in map[string]any
		_ = json.Unmarshal(body, &in)
		n := in["FunctionName"].(string)
		code := in["Code"].(map[string]any)
		if zip, _ := base64.StdEncoding.DecodeString(code["ZipFile"].(string)); string(zip) != "PK-fake-zip" {
			f.t.Errorf("create %s: code %q", n, zip)
		}
		mem := int(in["MemorySize"].(float64))
		conf := map[string]any{"FunctionName": n, "MemorySize": mem, "State": "Pending", "LastUpdateStatus": "InProgress"}
		for _, k := range []string{"Runtime", "Handler", "Role", "Timeout", "Architectures", "Environment", "PackageType"} {
			conf[k] = in[k]
		}
		f.funcs[n] = &fakeFunc{conf: conf, memory: mem}
		f.createIns = append(f.createIns, in)
		f.created = append(f.created, n)
		fail := f.failCreate
		f.mu.Unlock()
		if fail {
			lambdaError(w, 500, "ServiceException", "internal error after create")
			return
		}
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(conf)
		return
	case fn == nil:
		f.mu.Unlock()
		lambdaError(w, 404, "ResourceNotFoundException", "Function not found: "+name)
		return
	case r.Method == http.MethodGet && len(parts) == 1:
		out := map[string]any{"Configuration": fn.conf, "Code": map[string]any{"RepositoryType": "S3", "Location": f.srv.URL + "/code.zip"}}
		f.mu.Unlock()
		json.NewEncoder(w).Encode(out)
		return
	case r.Method == http.MethodGet && len(parts) == 2 && parts[1] == "configuration":
		fn.polls++
		if fn.polls > 1 { // Pending/InProgress for one poll, then done
			fn.conf["State"], fn.conf["LastUpdateStatus"] = "Active", "Successful"
			if fn.failUpdate {
				fn.conf["LastUpdateStatus"], fn.conf["LastUpdateStatusReason"] = "Failed", "not enough capacity"
			}
		}
		out, _ := json.Marshal(fn.conf)
		f.mu.Unlock()
		w.Write(out)
		return
	case r.Method == http.MethodPut && len(parts) == 2 && parts[1] == "configuration":
		var in map[string]any
		_ = json.Unmarshal(body, &in)
		mem := int(in["MemorySize"].(float64))
		fn.conf["MemorySize"], fn.memory = mem, mem
		fn.conf["LastUpdateStatus"] = "InProgress"
		fn.polls = 0
		f.updates = append(f.updates, mem)
		out, _ := json.Marshal(fn.conf)
		f.mu.Unlock()
		w.Write(out)
		return
	case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "invocations":
		f.invokes++
		n := f.invokes
		cold := !fn.warm
		fn.warm = true
		mem := fn.memory
		failN, hook := f.failInvoke, f.onInvoke
		f.mu.Unlock()
		if hook != nil && !hook(n, r) {
			return
		}
		if n == failN {
			lambdaError(w, 500, "ServiceException", "boom")
			return
		}
		if r.Header.Get("X-Amz-Log-Type") != "Tail" || r.Header.Get("X-Amz-Invocation-Type") != "RequestResponse" {
			f.t.Errorf("invoke headers: %v", r.Header)
		}
		d := 100.0 * 1024 / float64(mem)
		line := fmt.Sprintf("REPORT RequestId: req-%d\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: 70 MB\t", n, d, int(d)+1, mem)
		if cold {
			line += "Init Duration: 150.00 ms\t"
		}
		tail := "START RequestId: req\nEND RequestId: req\n" + line + "\n"
		w.Header().Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString([]byte(tail)))
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		w.Write(body)
		return
	case r.Method == http.MethodDelete && len(parts) == 1:
		delete(f.funcs, name)
		f.deleted = append(f.deleted, name)
		f.mu.Unlock()
		w.WriteHeader(204)
		return
	}
	f.mu.Unlock()
	f.t.Errorf("lambda: unexpected %s %s", r.Method, r.URL.Path)
	w.WriteHeader(400)
}

// leaked returns the temporary copies that still exist.
func (f *tuneFake) leaked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.created {
		if !slices.Contains(f.deleted, c) {
			out = append(out, c)
		}
	}
	return out
}

func instant(ctx context.Context, d time.Duration) error { return ctx.Err() }
