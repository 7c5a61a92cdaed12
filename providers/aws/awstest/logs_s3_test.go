package awstest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/evcli/evcli/providers/aws/awstest"
)

func TestLogGroups(t *testing.T) {
	ctx := context.Background()
	f := awstest.New()
	defer f.Close()
	c := cloudwatchlogs.NewFromConfig(f.Config(ctx))

	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/aws/lambda/orders"), Tags: map[string]string{"evcli:project": "shop"}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/aws/lambda/orders")})
	var exists *logstypes.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("second CreateLogGroup: %v", err)
	}
	if _, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/orders"), RetentionInDays: aws.Int32(14)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/orders"), RetentionInDays: aws.Int32(13)})
	var bad *logstypes.InvalidParameterException
	if !errors.As(err, &bad) {
		t.Errorf("retention 13: %v", err)
	}
	_, err = c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/nope"), RetentionInDays: aws.Int32(14)})
	var nf *logstypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("retention of a missing group: %v", err)
	}
	for i := range 7 {
		f.SeedLogGroup(fmt.Sprintf("/aws/lambda/fn%d", i), 0, nil)
	}
	f.SeedLogGroup("/other", 0, nil)
	var groups []logstypes.LogGroup
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(c, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/"), Limit: aws.Int32(3)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, out.LogGroups...)
	}
	if len(groups) != 8 || aws.ToString(groups[7].LogGroupName) != "/aws/lambda/orders" || aws.ToInt32(groups[7].RetentionInDays) != 14 {
		t.Errorf("groups = %d, last %+v", len(groups), groups[len(groups)-1])
	}
	arn := aws.ToString(groups[7].LogGroupArn)
	if _, err := c.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"evcli:function": "orders"}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(lt.Tags) != 2 {
		t.Errorf("tags = %v, %v", lt, err)
	}
	old, err := c.ListTagsLogGroup(ctx, &cloudwatchlogs.ListTagsLogGroupInput{LogGroupName: aws.String("/aws/lambda/orders")})
	if err != nil || old.Tags["evcli:project"] != "shop" {
		t.Errorf("ListTagsLogGroup = %v, %v", old, err)
	}
	if _, err := c.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/orders")}); err != nil {
		t.Fatal(err)
	}
	if g, _ := f.LogGroup("/aws/lambda/orders"); g.RetentionDays != 0 {
		t.Errorf("retention after delete = %d", g.RetentionDays)
	}
	if _, err := c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/aws/lambda/orders")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.LogGroup("/aws/lambda/orders"); ok {
		t.Error("group still there")
	}
}

func TestS3Artifacts(t *testing.T) {
	ctx := context.Background()
	f := awstest.New()
	defer f.Close()
	c := s3.NewFromConfig(f.Config(ctx), func(o *s3.Options) { o.UsePathStyle = true })

	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("evcli-artifacts")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("HeadBucket of a missing bucket: %v", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("evcli-artifacts")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("evcli-artifacts")}); err != nil {
		t.Fatal(err)
	}
	zip := bytes.Repeat([]byte("PK artifact "), 10000)
	for _, key := range []string{"shop/orders/abc.zip", "with space+plus.zip"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("evcli-artifacts"), Key: aws.String(key), Body: bytes.NewReader(zip)}); err != nil {
			t.Fatal(err)
		}
		obj, ok := f.Object("evcli-artifacts", key)
		if !ok || !bytes.Equal(obj.Data, zip) {
			t.Fatalf("%s: stored %d bytes, ok=%v", key, len(obj.Data), ok)
		}
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("evcli-artifacts"), Key: aws.String(key)})
		if err != nil || aws.ToInt64(h.ContentLength) != int64(len(zip)) {
			t.Errorf("HeadObject = %v, %v", h, err)
		}
		g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("evcli-artifacts"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(g.Body)
		g.Body.Close()
		if !bytes.Equal(body, zip) {
			t.Errorf("GetObject returned %d bytes", len(body))
		}
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("evcli-artifacts"), Key: aws.String("missing.zip")})
	if !errors.As(err, &nf) {
		t.Errorf("HeadObject of a missing key: %v", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("evcli-artifacts"), Key: aws.String("missing.zip")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GetObject of a missing key: %v", err)
	}
}

func TestLogEvents(t *testing.T) {
	ctx := context.Background()
	f := awstest.New()
	defer f.Close()
	cfg := f.Config(ctx)
	c := cloudwatchlogs.NewFromConfig(cfg)
	f.SeedFunction(awstest.FunctionSpec{Name: "orders"})
	f.SeedLogGroup("/aws/lambda/orders", 14, nil)

	// Invoke logs into the function's group.
	lc := lambda.NewFromConfig(cfg)
	for range 2 {
		if _, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("orders"), Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/aws/lambda/orders"), LogStreamName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("/aws/lambda/orders"), LogStreamName: aws.String("app"),
		LogEvents: []logstypes.InputLogEvent{{Timestamp: aws.Int64(1), Message: aws.String("order o-1 failed")}, {Timestamp: aws.Int64(2), Message: aws.String("order o-2 ok")}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		pattern string
		want    int
	}{
		{"", 8},
		{"REPORT", 2},
		{"order -failed", 1},
		{`?failed ?START`, 3},
		{`"o-2 ok"`, 1},
	}
	for _, tc := range cases {
		var got []string
		p := cloudwatchlogs.NewFilterLogEventsPaginator(c, &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName: aws.String("/aws/lambda/orders"), FilterPattern: aws.String(tc.pattern), Limit: aws.Int32(3)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range out.Events {
				got = append(got, aws.ToString(e.Message))
			}
		}
		if len(got) != tc.want {
			t.Errorf("pattern %q: %d events %q, want %d", tc.pattern, len(got), got, tc.want)
		}
	}
	if evs := f.LogEvents("/aws/lambda/orders"); len(evs) != 8 || evs[0].Message != "order o-1 failed" {
		t.Errorf("LogEvents = %+v", evs)
	}
}
