// Package s3store keeps blobs in an S3-compatible object store (AWS S3, Ceph RGW, Garage,
// MinIO, versitygw). Objects are written once under random keys and never rewritten:
//
//	{prefix}accounts/{account}/blobs/{k[0:2]}/{k}
//
// Uploads stream into the store as multipart uploads while the service hashes them, so any
// node can attach a file token another node issued; attaching touches only metadata.
// Downloads are ranged GETs, so Range requests never fetch the whole object.
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/refstore/refstore"
)

// Config names a bucket and how to reach it.
type Config struct {
	Bucket    string
	Prefix    string // key prefix inside the bucket, "" or ending in "/"
	Endpoint  string // for S3-compatible stores; empty for AWS
	Region    string
	PathStyle bool
	PartSize  int64 // multipart part size; default 8 MiB, at least 5 MiB
}

// ParseURL parses s3://BUCKET[/PREFIX]?endpoint=…&region=…&path-style=true&part-size=….
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return Config{}, fmt.Errorf("blob URL %q: want s3://BUCKET[/PREFIX]?endpoint=…&region=…&path-style=true", raw)
	}
	if u.User != nil {
		// Not echoed: the URL is logged, and secrets never are.
		return Config{}, errors.New("blob URL: credentials do not go in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	q := u.Query()
	c := Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Endpoint: q.Get("endpoint"), Region: q.Get("region")}
	if c.Prefix != "" {
		c.Prefix += "/"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if v := q.Get("path-style"); v != "" {
		if c.PathStyle, err = strconv.ParseBool(v); err != nil {
			return Config{}, fmt.Errorf("blob URL: path-style=%q is not a boolean", v)
		}
	}
	if v := q.Get("part-size"); v != "" {
		if c.PartSize, err = strconv.ParseInt(v, 10, 64); err != nil || c.PartSize < 5<<20 {
			return Config{}, fmt.Errorf("blob URL: part-size=%q must be a number of bytes, at least 5 MiB", v)
		}
	}
	for k := range q {
		switch k {
		case "endpoint", "region", "path-style", "part-size":
		default:
			return Config{}, fmt.Errorf("blob URL: unknown parameter %q (use endpoint, region, path-style, part-size)", k)
		}
	}
	return c, nil
}

// Store is the S3 blob store.
type Store struct {
	cfg     Config
	client  *s3.Client
	presign *s3.PresignClient
	parts   sync.Pool // *[]byte of PartSize
}

var _ refstore.BlobStore = (*Store)(nil)

// Open connects to the bucket and checks that it is reachable. Credentials come from the
// usual AWS sources: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, shared config, instance
// roles.
func Open(ctx context.Context, c Config) (*Store, error) {
	if c.PartSize == 0 {
		c.PartSize = 8 << 20
	}
	// Every node talks to one store: keep enough connections open for all its concurrent
	// downloads, and read responses in large pieces.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 256
		t.MaxIdleConnsPerHost = 256
		t.ReadBufferSize = 64 << 10
		t.WriteBufferSize = 64 << 10
	})
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(c.Region), config.WithHTTPClient(httpClient))
	if err != nil {
		return nil, fmt.Errorf("blob store: AWS configuration: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
			// S3-compatible stores differ in their support of the SDK's default CRC32
			// checksums; the service verifies content with its own SHA-256.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
		o.UsePathStyle = c.PathStyle
	})
	s := &Store{cfg: c, client: client, presign: s3.NewPresignClient(client)}
	s.parts.New = func() any { b := make([]byte, c.PartSize); return &b }
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := s.Ping(pingCtx); err != nil {
		return nil, fmt.Errorf("blob store s3://%s: %w", c.Bucket, err)
	}
	return s, nil
}

// Ping checks that the bucket answers.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.cfg.Bucket})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode() == "NotFound" || apiErr.ErrorCode() == "NoSuchBucket") {
		return &refstore.Error{Code: refstore.CodeUnavailable, Message: "The blob store's bucket does not exist.", Err: err}
	}
	return classify(err)
}

// Blob keys (and the names of staged files) are the domain's hex ids.
var newKey, validKey = refstore.NewHexID, refstore.ValidHexID

func (s *Store) objectKey(ref refstore.BlobRef) (string, error) {
	if !refstore.ValidAccountID(ref.Account) || !validKey(ref.Key) {
		return "", fmt.Errorf("invalid blob reference %q/%q", ref.Account, ref.Key)
	}
	return s.cfg.Prefix + "accounts/" + ref.Account + "/blobs/" + ref.Key[:2] + "/" + ref.Key, nil
}

// Put streams r into a new object: one PutObject when it fits in a part, a multipart
// upload otherwise. A failed multipart upload is aborted, so nothing half-written stays.
func (s *Store) Put(ctx context.Context, account string, r io.Reader) (string, int64, error) {
	ref := refstore.BlobRef{Account: account, Key: newKey()}
	key, err := s.objectKey(ref)
	if err != nil {
		return "", 0, err
	}
	bufp := s.parts.Get().(*[]byte)
	defer s.parts.Put(bufp)
	buf := *bufp
	n, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		_, err = s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.cfg.Bucket, Key: &key,
			Body: bytes.NewReader(buf[:n]), ContentLength: aws.Int64(int64(n))})
		if err != nil {
			return "", 0, classify(err)
		}
		return ref.Key, int64(n), nil
	} else if err != nil {
		return "", 0, err
	}
	size, err := s.multipart(ctx, key, r, buf)
	if err != nil {
		return "", 0, err
	}
	return ref.Key, size, nil
}

// multipart uploads first (a full part already read) and the rest of r.
func (s *Store) multipart(ctx context.Context, key string, r io.Reader, buf []byte) (int64, error) {
	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.cfg.Bucket, Key: &key})
	if err != nil {
		return 0, classify(err)
	}
	uploadID := created.UploadId
	abort := func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &s.cfg.Bucket, Key: &key, UploadId: uploadID})
	}
	var parts []types.CompletedPart
	var size int64
	n := len(buf)
	for part := int32(1); ; part++ {
		out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: &s.cfg.Bucket, Key: &key, UploadId: uploadID,
			PartNumber: aws.Int32(part), Body: bytes.NewReader(buf[:n]), ContentLength: aws.Int64(int64(n))})
		if err != nil {
			abort()
			return 0, classify(err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(part)})
		size += int64(n)
		n, err = io.ReadFull(r, buf)
		if err == io.EOF {
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			abort()
			return 0, err
		}
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &s.cfg.Bucket, Key: &key,
		UploadId: uploadID, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		abort()
		return 0, classify(err)
	}
	return size, nil
}

// Open returns a reader over the object that fetches bytes with ranged GETs, lazily.
func (s *Store) Open(ctx context.Context, ref refstore.BlobRef, size int64) (io.ReadSeekCloser, error) {
	key, err := s.objectKey(ref)
	if err != nil {
		return nil, err
	}
	return &object{s: s, ctx: ctx, key: key, size: size, prefetchEnd: -1}, nil
}

// Delete removes an object; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, ref refstore.BlobRef) error {
	key, err := s.objectKey(ref)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.cfg.Bucket, Key: &key})
	return classify(err)
}

// Walk lists every blob object with its modification time, or a little later: never earlier.
func (s *Store) Walk(ctx context.Context, fn func(ref refstore.BlobRef, mod time.Time) error) error {
	return s.List(ctx, func(b refstore.BlobInfo) error { return fn(b.Ref, b.Mod) })
}

// AbortStaleUploads aborts multipart uploads started before the given time: the leftovers
// of nodes that died mid-upload.
func (s *Store) AbortStaleUploads(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := s.eachStaleUpload(ctx, before, func(u types.MultipartUpload) error {
		if _, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.cfg.Bucket,
			Key: u.Key, UploadId: u.UploadId}); err != nil {
			return classify(err)
		}
		n++
		return nil
	})
	return n, err
}

// eachStaleUpload calls fn for every multipart upload started before the given time.
func (s *Store) eachStaleUpload(ctx context.Context, before time.Time, fn func(types.MultipartUpload) error) error {
	prefix := s.cfg.Prefix + "accounts/"
	in := &s3.ListMultipartUploadsInput{Bucket: &s.cfg.Bucket, Prefix: &prefix}
	for {
		out, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return classify(err)
		}
		for _, u := range out.Uploads {
			// Dates are to the second: an upload listed as initiated at t may have started
			// up to a second later, and must not be taken for a stale one.
			if u.Initiated != nil && u.Initiated.Add(time.Second).Before(before) {
				if err := fn(u); err != nil {
					return err
				}
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// classify maps S3 failures onto the domain: a missing object reads as fs.ErrNotExist, an
// unreachable or failing store as 503.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%w: %v", errNotExist, err)
		case "NoSuchBucket":
			return &refstore.Error{Code: refstore.CodeUnavailable, Message: "The blob store's bucket does not exist.", Err: err}
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
			return &refstore.Error{Code: refstore.CodeUnavailable, Message: "The blob store refused the credentials.", Err: err}
		}
	}
	// A request that got no answer at all (connection refused or reset) carries status 0:
	// that is an unavailable store, not a client error.
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 400 && respErr.HTTPStatusCode() < 500 && respErr.HTTPStatusCode() != 429 {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return &refstore.Error{Code: refstore.CodeUnavailable, Message: "The blob store is unavailable.", Err: err}
}
