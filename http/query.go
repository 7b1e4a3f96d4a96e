package http

import (
	"net/url"
	"strings"
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
