package jsontext

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/refstore/refstore"
)

// bigCatalog is a catalog of about 8 MiB, mostly segment ids, as large upserts are.
func bigCatalog() []byte {
	var b bytes.Buffer
	b.WriteString(`{"accounts":[{"id":"acme","name":"Acme","users":[{"id":1,"name":"pm","apiKey":"0123456789abcdef"}],"projects":[`)
	for p := range 20 {
		if p > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"Project %d","documents":[`, p+1, p)
		for d := range 50 {
			if d > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"id":%d,"segments":[`, p*1000+d+1)
			for s := range 1000 {
				if s > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, "%d", (p*1000+d)*10000+s+1)
			}
			b.WriteString("]}")
		}
		b.WriteString("]}")
	}
	b.WriteString("]}]}")
	return b.Bytes()
}

func BenchmarkDecodeCatalog(b *testing.B) {
	data := bigCatalog()
	b.Run("encoding/json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var c refstore.Catalog
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsontext", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var c refstore.Catalog
			if err := Decode(bytes.NewReader(data), &c, Options{DisallowUnknownFields: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkReader(b *testing.B) {
	data := bigCatalog()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := NewReader(bytes.NewReader(data), Options{}).Finish(); err != nil {
			b.Fatal(err)
		}
	}
}
