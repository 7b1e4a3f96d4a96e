package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var errNotExist = fs.ErrNotExist

// object reads an S3 object through ranged GETs. Seek only records the position; the next
// Read opens a GET from there. That is what lets http.ServeContent serve Range requests
// from S3 without fetching whole objects.
type object struct {
	s    *Store
	ctx  context.Context
	key  string
	size int64

	pos     int64         // the reader's position
	body    io.ReadCloser // an open GET, positioned at bodyPos
	bodyPos int64
	bodyEnd int64 // the last byte the open GET returns

	// prefetchStart..prefetchEnd is the range the HTTP layer announced it will send, so
	// the GET starting there asks for exactly it.
	prefetchStart, prefetchEnd int64
}

func (o *object) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.pos
	case io.SeekEnd:
		offset += o.size
	default:
		return 0, errors.New("s3store: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("s3store: negative position")
	}
	o.pos = offset
	return offset, nil
}

func (o *object) Read(p []byte) (int, error) {
	if o.pos >= o.size {
		return 0, io.EOF
	}
	if o.body != nil && o.bodyPos != o.pos {
		o.body.Close()
		o.body = nil
	}
	if o.body == nil {
		end := o.size - 1
		if o.pos == o.prefetchStart && o.prefetchEnd >= o.pos {
			end = o.prefetchEnd
		}
		if err := o.open(o.pos, end); err != nil {
			return 0, err
		}
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	o.bodyPos = o.pos
	if err == nil && o.bodyPos > o.bodyEnd {
		// All of the GET is read: read its end too, so that the connection goes back to
		// the pool instead of being closed.
		var one [1]byte
		if m, _ := o.body.Read(one[:]); m == 0 {
			err = io.EOF
		}
	}
	if err == io.EOF {
		// The GET covered a prefetched range only; the next Read opens the rest.
		o.body.Close()
		o.body = nil
		if o.pos < o.size {
			err = nil
		}
	}
	return n, err
}

func (o *object) open(start, end int64) error {
	out, err := o.s.client.GetObject(o.ctx, &s3.GetObjectInput{Bucket: &o.s.cfg.Bucket, Key: &o.key,
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", start, end))})
	if err != nil {
		return classify(err)
	}
	o.body, o.bodyPos, o.bodyEnd = out.Body, start, end
	return nil
}

// Prefetch opens the GET of start..end (inclusive) now, so that a missing object or an
// unreachable store is reported before the response starts.
func (o *object) Prefetch(start, end int64) error {
	if start >= o.size || end < start {
		return nil
	}
	o.prefetchStart, o.prefetchEnd = start, min(end, o.size-1)
	if o.body != nil {
		o.body.Close()
		o.body = nil
	}
	if err := o.open(start, o.prefetchEnd); err != nil {
		return err
	}
	o.pos = start
	return nil
}

// PresignGet returns a short-lived URL that serves the object with the given
// Content-Type and Content-Disposition.
func (o *object) PresignGet(contentType, disposition string, ttl time.Duration) (string, error) {
	req, err := o.s.presign.PresignGetObject(o.ctx, &s3.GetObjectInput{Bucket: &o.s.cfg.Bucket, Key: &o.key,
		ResponseContentType: aws.String(contentType), ResponseContentDisposition: aws.String(disposition)},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", err
	}
	return req.URL, nil
}

func (o *object) Close() error {
	if o.body != nil {
		err := o.body.Close()
		o.body = nil
		return err
	}
	return nil
}
