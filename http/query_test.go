package http

import (
	"net/url"
	"testing"
)

// queryValue must read every query exactly as url.Values does.
func TestQueryValue(t *testing.T) {
	queries := []string{
		"", "scope=pr7214", "scope=pr7214&filename=a.png&locale=en&v=1", "filename=a%20b.png&filename=second",
		"filename=a+b.png", "fil%65name=x.png", "filename=%zz&filename=ok", "a;b=c&filename=x", "filename",
		"filename=&locale=", "&&filename=x&&", "relativePath=public%2Fimages&scope=jbs1", "v=638892287138999983",
		"filename=%E2%82%AC.png", "filename=a=b", "x=1&filename%3Dy=2",
	}
	for _, q := range queries {
		values, _ := url.ParseQuery(q)
		for _, key := range []string{"scope", "filename", "locale", "relativePath", "v"} {
			got, ok := queryValue(q, key)
			if ok != values.Has(key) || got != values.Get(key) {
				t.Errorf("queryValue(%q, %q) = %q, %t; url.Values says %q, %t", q, key, got, ok, values.Get(key), values.Has(key))
			}
		}
	}
}

func FuzzQueryValue(f *testing.F) {
	f.Add("scope=pr7214&filename=a%20b.png", "filename")
	f.Add("fil%65name=x&filename=y", "filename")
	f.Fuzz(func(t *testing.T, q, key string) {
		values, _ := url.ParseQuery(q)
		got, ok := queryValue(q, key)
		if ok != values.Has(key) || got != values.Get(key) {
			t.Errorf("queryValue(%q, %q) = %q, %t; url.Values says %q, %t", q, key, got, ok, values.Get(key), values.Has(key))
		}
	})
}
