// Package config puts a YAML configuration file under a command's flags and environment:
// the file's keys are the command's flag names (addr, max-upload-size, token-ttl …), and a
// value from the file is used only where neither the command line nor the environment set
// that flag. Precedence is therefore flags > environment > file > built-in defaults.
//
// It works on any pflag.FlagSet, so every command (the server, and the command-line client
// to come) shares one file format and one set of error messages. Errors name the file, the
// line and the key: an unknown key is an error, so that a typo never passes silently.
//
// Why not koanf or ff: ff (v3) parses the standard library's flag.FlagSet, not the pflag
// sets of our cobra commands. koanf merges providers into one flattened map: its posflag
// provider would rank our environment-derived flag defaults below the file (the wrong
// precedence) unless the REFSTORE_* layer, whose messages the tests rely on, were rebuilt
// on its env provider; and its YAML parser drops line numbers. What would remain of it is
// reading a YAML file, which go.yaml.in/yaml/v3 (already in the module graph through
// goose and prometheus/common) does with the lines kept.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Error is a problem at one place of a configuration file.
type Error struct {
	File string
	Line int    // 0 when the problem is the file as a whole
	Key  string // empty when the problem is not one key's
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Options say how a file maps onto a flag set.
type Options struct {
	// EnvPrefix turns a flag name into its environment variable: "REFSTORE_" makes
	// max-upload-size REFSTORE_MAX_UPLOAD_SIZE. A flag whose variable is set keeps the
	// environment's value. Empty: the environment is not consulted.
	EnvPrefix string
	// Reserved are flags that the file may not set (the --config flag itself, --help).
	Reserved []string
	// Ignored are keys the file may hold that this flag set does not take: the settings
	// of another command sharing the file. They are accepted and left alone.
	Ignored []string
}

// EnvName is the environment variable of flag under prefix.
func EnvName(prefix, flag string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Setting is one key of a file with its value as a flag would take it.
type Setting struct {
	Key   string
	Value string
	Line  int
}

// Apply reads the file at path and sets every flag it names that the command line
// (pflag's Changed) and the environment left alone. Call it after the flags are parsed.
func Apply(fs *pflag.FlagSet, path string, opts Options) error {
	settings, err := Read(path)
	if err != nil {
		return err
	}
	for _, s := range settings {
		if err := apply(fs, path, s, opts); err != nil {
			return err
		}
	}
	return nil
}

func apply(fs *pflag.FlagSet, path string, s Setting, opts Options) error {
	fail := func(err error) error { return &Error{File: path, Line: s.Line, Key: s.Key, Err: err} }
	f := fs.Lookup(s.Key)
	switch {
	case slices.Contains(opts.Reserved, s.Key):
		return fail(errors.New("cannot be set in a configuration file"))
	case f == nil && slices.Contains(opts.Ignored, s.Key):
		return nil
	case f == nil:
		return &Error{File: path, Line: s.Line, Err: unknownKey(fs, s.Key, opts)}
	case f.Changed:
		return nil // the command line wins
	}
	if opts.EnvPrefix != "" {
		if _, ok := os.LookupEnv(EnvName(opts.EnvPrefix, s.Key)); ok {
			return nil // the environment wins
		}
	}
	if err := fs.Set(s.Key, s.Value); err != nil {
		return fail(valueError(s.Value, err))
	}
	return nil
}

// valueError says what is wrong with value, quoting it unless the flag's own message does.
func valueError(value string, err error) error {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		err = invalid.Unwrap()
	}
	if strings.Contains(err.Error(), strconv.Quote(value)) {
		return err
	}
	return fmt.Errorf("%q: %w", value, err)
}

// unknownKey says that key is no setting, and which one was probably meant.
func unknownKey(fs *pflag.FlagSet, key string, opts Options) error {
	best, bestDist := "", 3 // suggest only close matches
	fs.VisitAll(func(f *pflag.Flag) {
		if slices.Contains(opts.Reserved, f.Name) {
			return
		}
		if d := distance(key, f.Name); d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	if best != "" {
		return fmt.Errorf("unknown setting %q (did you mean %q?)", key, best)
	}
	return fmt.Errorf("unknown setting %q: the keys are the flag names of the command (see --help)", key)
}

// Read parses a configuration file: a YAML mapping of flag names to single values. A
// list becomes the comma-separated form flags take (cors-origins).
func Read(path string) ([]Setting, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	return Parse(path, raw)
}

// Parse is Read on bytes already read; name is used in errors.
func Parse(name string, raw []byte) ([]Setting, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // an empty file, or only comments
		}
		return nil, &Error{File: name, Err: fmt.Errorf("not valid YAML: %w", err)}
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, &Error{File: name, Line: more.Line, Err: errors.New("holds more than one YAML document")}
	}
	top := &doc
	if top.Kind == yaml.DocumentNode {
		if len(top.Content) == 0 {
			return nil, nil
		}
		top = top.Content[0]
	}
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return nil, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: top.Line, Err: errors.New("want a mapping of settings (key: value), one per line")}
	}
	return settings(name, top)
}

func settings(name string, m *yaml.Node) ([]Setting, error) {
	var out []Setting
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, &Error{File: name, Line: k.Line, Err: errors.New("a key must be a flag name")}
		}
		if first, dup := seen[k.Value]; dup {
			return nil, &Error{File: name, Line: k.Line, Key: k.Value, Err: fmt.Errorf("set twice (first on line %d)", first)}
		}
		seen[k.Value] = k.Line
		value, err := scalar(v)
		if err != nil {
			return nil, &Error{File: name, Line: v.Line, Key: k.Value, Err: err}
		}
		out = append(out, Setting{Key: k.Value, Value: value, Line: k.Line})
	}
	return out, nil
}

// scalar is a value as a flag takes it.
func scalar(v *yaml.Node) (string, error) {
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return "", errors.New(`has no value: give one ("" for an empty string), or remove the line to keep the default`)
		}
		return v.Value, nil
	case yaml.SequenceNode:
		items := make([]string, 0, len(v.Content))
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
				return "", errors.New("a list may hold only plain values")
			}
			if strings.Contains(it.Value, ",") {
				return "", fmt.Errorf("list item %q holds a comma", it.Value)
			}
			items = append(items, it.Value)
		}
		return strings.Join(items, ","), nil
	}
	return "", errors.New("takes one value, not a mapping")
}

// distance is the Levenshtein distance of a and b (bytes: flag names are ASCII).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
