package http

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// CORS lets browser-based editors on other origins call the /api routes (display assets,
// upload, attach). Credentials are headers (X-Auth-Token), never cookies, so responses
// never allow credentials. The admin API, health and metrics get no CORS headers.
const (
	corsMethods       = "GET, HEAD, POST, PUT, DELETE"
	corsAllowHeaders  = "X-Auth-Token, X-Auth-AccountId, Range, If-Range, If-None-Match, If-Modified-Since, Content-Type, X-Request-Id"
	corsExposeHeaders = "ETag, Content-Range, Content-Length, Content-Disposition, Accept-Ranges, Last-Modified, X-Deleted-Count, X-Request-Id, Retry-After"
	corsMaxAge        = "600"
)

// cors holds the allowed origins: any when all is set.
type cors struct {
	all     bool
	origins map[string]bool
}

// ParseCORSOrigins checks a list of origins (scheme://host[:port], or * for any).
func ParseCORSOrigins(list []string) ([]string, error) {
	var out []string
	for _, o := range list {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("CORS origin %q: write scheme://host[:port] (https://editor.example.com) or *", o)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

func newCORS(origins []string) *cors {
	if len(origins) == 0 {
		return nil
	}
	c := &cors{origins: map[string]bool{}}
	for _, o := range origins {
		if o == "*" {
			c.all = true
		}
		c.origins[o] = true
	}
	return c
}

// handle sets the CORS headers of an /api request from an allowed origin, and answers
// it when it is a preflight (then it returns true).
func (c *cors) handle(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin") // responses differ by origin: caches must keep them apart
	origin := r.Header.Get("Origin")
	if origin == "" || !(c.all || c.origins[strings.ToLower(origin)]) {
		return false
	}
	if c.all {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", corsMethods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}
