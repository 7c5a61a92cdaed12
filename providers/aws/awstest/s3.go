package awstest

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type bucket struct {
	name    string
	created time.Time
	objects map[string]*object
}

type object struct {
	data        []byte
	contentType string
	etag        string
	modified    time.Time
	meta        map[string]string
}

type s3Service struct{ s *Server }

func (s3Service) writeError(w http.ResponseWriter, action string, e *apiError, requestID string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.Status)
	if strings.HasPrefix(action, "Head") {
		return // HEAD answers carry no body; the SDK names the error from the status
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	el("Error", tx("Code", e.Code), tx("Message", e.Message), tx("RequestId", requestID)).write(&b)
	w.Write([]byte(b.String()))
}

// s3Key splits a path-style request into bucket and key.
func s3Key(r *http.Request) (bucketName, key string) {
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	bucketName, rawKey, _ := strings.Cut(p, "/")
	if u, err := url.PathUnescape(bucketName); err == nil {
		bucketName = u
	}
	key, err := url.PathUnescape(rawKey)
	if err != nil {
		key = rawKey
	}
	return bucketName, key
}

func (x s3Service) parse(r *http.Request, body []byte) (op, *apiError) {
	b, key := s3Key(r)
	res := b
	if key != "" {
		res = b + "/" + key
	}
	q := r.URL.Query()
	switch {
	case b == "" && r.Method == http.MethodGet:
		return op{"ListBuckets", "", x.listBuckets}, nil
	case key == "" && r.Method == http.MethodPut:
		return op{"CreateBucket", res, func() (reply, *apiError) { return x.createBucket(b) }}, nil
	case key == "" && r.Method == http.MethodHead:
		return op{"HeadBucket", res, func() (reply, *apiError) { return x.headBucket(b) }}, nil
	case key == "" && r.Method == http.MethodDelete:
		return op{"DeleteBucket", res, func() (reply, *apiError) { return x.deleteBucket(b) }}, nil
	case key == "" && r.Method == http.MethodGet && q.Get("list-type") == "2":
		return op{"ListObjectsV2", res, func() (reply, *apiError) { return x.listObjects(b, q) }}, nil
	case key != "" && r.Method == http.MethodPut:
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			return op{action: "CopyObject", resource: res}, errf(501, "NotImplemented", "awstest: CopyObject is not supported")
		}
		return op{"PutObject", res, func() (reply, *apiError) { return x.putObject(b, key, r, body) }}, nil
	case key != "" && r.Method == http.MethodHead:
		return op{"HeadObject", res, func() (reply, *apiError) { return x.getObject(b, key, false) }}, nil
	case key != "" && r.Method == http.MethodGet:
		return op{"GetObject", res, func() (reply, *apiError) { return x.getObject(b, key, true) }}, nil
	case key != "" && r.Method == http.MethodDelete:
		return op{"DeleteObject", res, func() (reply, *apiError) { return x.deleteObject(b, key) }}, nil
	}
	return op{action: "Unknown", resource: res}, errf(501, "NotImplemented", "awstest: %s %s is not supported", r.Method, r.URL.Path)
}

func (x s3Service) bucket(name string) (*bucket, *apiError) {
	if b := x.s.buckets[name]; b != nil {
		return b, nil
	}
	return nil, errf(404, "NoSuchBucket", "The specified bucket does not exist")
}

var bucketNameOK = func(n string) bool {
	if len(n) < 3 || len(n) > 63 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func (x s3Service) createBucket(name string) (reply, *apiError) {
	s := x.s
	if !bucketNameOK(name) {
		return reply{}, errf(400, "InvalidBucketName", "The specified bucket is not valid.")
	}
	if s.buckets[name] != nil {
		if s.region != "us-east-1" {
			return reply{}, errf(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
		}
	} else {
		s.buckets[name] = &bucket{name: name, created: s.requestTime(), objects: map[string]*object{}}
	}
	return reply{status: 200, header: map[string]string{"Location": "/" + name}}, nil
}

func (x s3Service) headBucket(name string) (reply, *apiError) {
	if _, e := x.bucket(name); e != nil {
		return reply{}, e
	}
	return reply{status: 200, header: map[string]string{"X-Amz-Bucket-Region": x.s.region}}, nil
}

func (x s3Service) deleteBucket(name string) (reply, *apiError) {
	b, e := x.bucket(name)
	if e != nil {
		return reply{}, e
	}
	if len(b.objects) > 0 {
		return reply{}, errf(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
	}
	delete(x.s.buckets, name)
	return reply{status: 204}, nil
}

func (x s3Service) listBuckets() (reply, *apiError) {
	list := el("Buckets")
	for _, n := range sortedKeys(x.s.buckets) {
		list.kids = append(list.kids, el("Bucket", tx("Name", n), tx("CreationDate", x.s.buckets[n].created.UTC().Format(time.RFC3339))))
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	el("ListAllMyBucketsResult", list, el("Owner", tx("ID", "awstest"))).write(&b)
	return reply{status: 200, contentType: "application/xml", body: []byte(b.String())}, nil
}

func (x s3Service) listObjects(name string, q url.Values) (reply, *apiError) {
	bk, e := x.bucket(name)
	if e != nil {
		return reply{}, e
	}
	prefix := q.Get("prefix")
	var keys []string
	for _, k := range sortedKeys(bk.objects) {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	limit, _ := strconv.Atoi(q.Get("max-keys"))
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	lo, hi, next, ok := paginate(len(keys), func(i int) string { return keys[i] }, q.Get("continuation-token"), limit, 1000, 1000)
	if !ok {
		return reply{}, errf(400, "InvalidArgument", "The continuation token provided is incorrect")
	}
	res := el("ListBucketResult", tx("Name", name), tx("Prefix", prefix), tx("KeyCount", strconv.Itoa(hi-lo)),
		tx("MaxKeys", strconv.Itoa(limit)), tx("IsTruncated", strconv.FormatBool(next != "")))
	if next != "" {
		res.kids = append(res.kids, tx("NextContinuationToken", next))
	}
	for _, k := range keys[lo:hi] {
		o := bk.objects[k]
		res.kids = append(res.kids, el("Contents", tx("Key", k), tx("LastModified", o.modified.UTC().Format(time.RFC3339)),
			tx("ETag", o.etag), tx("Size", strconv.Itoa(len(o.data))), tx("StorageClass", "STANDARD")))
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	res.write(&b)
	return reply{status: 200, contentType: "application/xml", body: []byte(b.String())}, nil
}

func newObject(data []byte, contentType string, now time.Time) *object {
	sum := md5.Sum(data)
	if contentType == "" {
		contentType = "binary/octet-stream"
	}
	return &object{data: slices.Clone(data), contentType: contentType, etag: `"` + hex.EncodeToString(sum[:]) + `"`, modified: now, meta: map[string]string{}}
}

func (x s3Service) putObject(name, key string, r *http.Request, body []byte) (reply, *apiError) {
	bk, e := x.bucket(name)
	if e != nil {
		return reply{}, e
	}
	o := newObject(body, r.Header.Get("Content-Type"), x.s.requestTime())
	for k, v := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-meta-") {
			o.meta[strings.ToLower(k)[len("x-amz-meta-"):]] = v[0]
		}
	}
	bk.objects[key] = o
	return reply{status: 200, header: map[string]string{"ETag": o.etag}}, nil
}

func (x s3Service) getObject(name, key string, withBody bool) (reply, *apiError) {
	bk, e := x.bucket(name)
	if e != nil {
		return reply{}, e
	}
	o := bk.objects[key]
	if o == nil {
		if !withBody {
			return reply{}, errf(404, "NotFound", "Not Found")
		}
		return reply{}, errf(404, "NoSuchKey", "The specified key does not exist.")
	}
	h := map[string]string{"ETag": o.etag, "Last-Modified": o.modified.UTC().Format(http.TimeFormat),
		"Accept-Ranges": "bytes", "Content-Length": strconv.Itoa(len(o.data))}
	for k, v := range o.meta {
		h["X-Amz-Meta-"+k] = v
	}
	rep := reply{status: 200, contentType: o.contentType, header: h}
	if withBody {
		rep.body = o.data
	}
	return rep, nil
}

func (x s3Service) deleteObject(name, key string) (reply, *apiError) {
	bk, e := x.bucket(name)
	if e != nil {
		return reply{}, e
	}
	delete(bk.objects, key)
	return reply{status: 204}, nil
}

// ObjectState is a stored S3 object.
type ObjectState struct {
	Data        []byte
	ContentType string
	ETag        string
	Metadata    map[string]string
}

// Object returns a stored object.
func (s *Server) Object(bucketName, key string) (ObjectState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil || b.objects[key] == nil {
		return ObjectState{}, false
	}
	o := b.objects[key]
	return ObjectState{Data: slices.Clone(o.data), ContentType: o.contentType, ETag: o.etag, Metadata: copyTags(o.meta)}, true
}

// Buckets lists the buckets, sorted.
func (s *Server) Buckets() []string { s.mu.Lock(); defer s.mu.Unlock(); return sortedKeys(s.buckets) }

// SeedObject stores an object, creating the bucket if needed.
func (s *Server) SeedObject(bucketName, key string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		b = &bucket{name: bucketName, created: s.requestTime(), objects: map[string]*object{}}
		s.buckets[bucketName] = b
	}
	b.objects[key] = newObject(data, "", s.requestTime())
}
