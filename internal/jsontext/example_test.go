package jsontext_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/refstore/refstore/internal/jsontext"
)

// A body with half a surrogate pair in a field is refused, naming the field.
func ExampleDecode() {
	var req struct {
		FileToken    string `json:"filetoken"`
		RelativePath string `json:"relativePath"`
	}
	err := jsontext.Decode(strings.NewReader(`{"filetoken":"t","relativePath":"lone\ud800surrogate"}`), &req, jsontext.Options{})
	var e *jsontext.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind == jsontext.KindEncoding, e.Path)
		fmt.Println(e)
	}
	// Output:
	// true relativePath
	// relativePath: holds \ud800, the first half of a UTF-16 surrogate pair, without its second half (at byte 37)
}
