package s3store

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/refstore/refstore"
)

var (
	_ refstore.BlobLister        = (*Store)(nil)
	_ refstore.StaleUploadLister = (*Store)(nil)
)

// List calls fn for every blob object with its size and modification time (or a little
// later: listings give dates to the second).
func (s *Store) List(ctx context.Context, fn func(refstore.BlobInfo) error) error {
	prefix := s.cfg.Prefix + "accounts/"
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.cfg.Bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return classify(err)
		}
		for _, o := range page.Contents {
			// accounts/{account}/blobs/{xx}/{key}
			el := strings.Split(strings.TrimPrefix(aws.ToString(o.Key), prefix), "/")
			if len(el) != 4 || el[1] != "blobs" || !validKey(el[3]) {
				continue
			}
			info := refstore.BlobInfo{Ref: refstore.BlobRef{Account: el[0], Key: el[3]}, Size: aws.ToInt64(o.Size),
				Mod: aws.ToTime(o.LastModified).Add(time.Second)}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// StaleUploads counts the multipart uploads started before the given time, without
// aborting them.
func (s *Store) StaleUploads(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := s.eachStaleUpload(ctx, before, func(types.MultipartUpload) error { n++; return nil })
	return n, err
}
