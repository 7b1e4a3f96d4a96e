package http

import (
	"net/url"
	"strings"

	"github.com/refstore/refstore"
)

// queryValue returns the first value of key in a raw query string, decoded exactly as
// url.ParseQuery decodes it, and whether the key is there. The download route reads its
// few parameters this way: building a url.Values costs it a map and a slice per key.
func queryValue(raw, key string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue // url.ParseQuery skips these too
		}
		k, v, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(k, "%+") {
			if uk, err := url.QueryUnescape(k); err != nil || uk != key {
				continue
			}
		} else if k != key {
			continue
		}
		if !strings.ContainsAny(v, "%+") {
			return v, true
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			continue // url.ParseQuery drops a pair it cannot decode
		}
		return uv, true
	}
	return "", false
}

// parseFlexDocument parses the {id} of a Flex route: a document id, or c{jobId} for a
// Codyt job.
func parseFlexDocument(s string) (refstore.Scope, error) {
	kind, digits := refstore.ScopeDocument, s
	if rest, ok := strings.CutPrefix(s, "c"); ok {
		kind, digits = refstore.ScopeCodytJob, rest
	}
	id, err := refstore.ParseID("id", digits)
	if err != nil {
		return refstore.Scope{}, refstore.InvalidParam("id", "%q must be a document id or c{jobId}", refstore.Excerpt(s, 40))
	}
	return refstore.Scope{Kind: kind, ID: id}, nil
}

// maxListSegments is the most distinct segment ids one list-many call may name.
const maxListSegments = 1000

// parseSegmentIDs parses the segmentIds of a list-many call: comma-separated ids, possibly
// spread over repeated parameters. Duplicates are dropped, order is kept.
func parseSegmentIDs(values []string) ([]int64, error) {
	var ids []int64
	seen := make(map[int64]struct{})
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			id, err := refstore.ParseID("segmentIds", part)
			if err != nil {
				return nil, err
			}
			if _, dup := seen[id]; dup {
				continue
			}
			if len(seen) == maxListSegments {
				return nil, refstore.InvalidParam("segmentIds", "at most %d distinct ids per call", maxListSegments)
			}
			seen[id] = struct{}{}
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, refstore.InvalidParam("segmentIds", "required: one or more comma-separated segment ids")
	}
	return ids, nil
}
