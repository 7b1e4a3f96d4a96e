package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3peer is an S3 server the benchmark compares with (versitygw, MinIO): objects are read
// anonymously when the server accepts a public-read bucket policy, otherwise through
// presigned URLs; uploads always go through presigned PUT URLs, so every peer is driven by
// the same plain HTTP client.
type s3peer struct {
	name     string
	endpoint string
	bucket   string
	client   *s3.Client
	presign  *s3.PresignClient
	public   bool
}

func newS3Peer(ctx context.Context, name, endpoint, access, secret, bucket string, create bool) (*s3peer, error) {
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(access, secret, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
	p := &s3peer{name: name, endpoint: endpoint, bucket: bucket, client: c, presign: s3.NewPresignClient(c)}
	if create {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
			return nil, fmt.Errorf("%s: creating the bucket: %w", name, err)
		}
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},`+
		`"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`, bucket)
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: &bucket, Policy: &policy}); err == nil {
		p.public = true
	}
	return p, nil
}

func (p *s3peer) put(ctx context.Context, key string, r io.Reader, size int64) error {
	_, err := p.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &p.bucket, Key: &key, Body: r, ContentLength: &size})
	return err
}

func (p *s3peer) delete(ctx context.Context, key string) error {
	_, err := p.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &p.bucket, Key: &key})
	return err
}

// getURL is where an object is read from: its plain URL when public, else presigned.
func (p *s3peer) getURL(ctx context.Context, key string) (string, error) {
	if p.public {
		return p.endpoint + "/" + p.bucket + "/" + key, nil
	}
	req, err := p.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &p.bucket, Key: &key},
		s3.WithPresignExpires(6*time.Hour))
	if err != nil {
		return "", err
	}
	return req.URL, nil
}

// putURL is a presigned URL that takes one PUT of an object.
func (p *s3peer) putURL(ctx context.Context, key string) (string, error) {
	req, err := p.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &p.bucket, Key: &key},
		s3.WithPresignExpires(6*time.Hour))
	if err != nil {
		return "", err
	}
	return req.URL, nil
}

// keys lists the object keys under a prefix with their sizes.
func (p *s3peer) keys(ctx context.Context, prefix string) (map[string]int64, error) {
	out := map[string]int64{}
	pg := s3.NewListObjectsV2Paginator(p.client, &s3.ListObjectsV2Input{Bucket: &p.bucket, Prefix: &prefix})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			if !strings.HasSuffix(aws.ToString(o.Key), "/") {
				out[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
			}
		}
	}
	return out, nil
}
