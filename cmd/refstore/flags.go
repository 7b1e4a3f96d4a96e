package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// envFlags registers flags whose defaults come from REFSTORE_* variables, so every
// setting can be given either way (a flag wins over the environment).
type envFlags struct {
	fs  *pflag.FlagSet
	err error
}

func envName(flag string) string {
	return "REFSTORE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func (e *envFlags) String(p *string, name, def, usage string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		def = v
	}
	e.fs.StringVar(p, name, def, usage+" ("+envName(name)+")")
}

func (e *envFlags) Bool(p *bool, name string, def bool, usage string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			e.err = fmt.Errorf("%s=%q: %v", envName(name), v, err)
		}
		def = b
	}
	e.fs.BoolVar(p, name, def, usage+" ("+envName(name)+")")
}

func (e *envFlags) Int64(p *int64, name string, def int64, usage string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			e.err = fmt.Errorf("%s=%q: %v", envName(name), v, err)
		}
		def = n
	}
	e.fs.Int64Var(p, name, def, usage+" ("+envName(name)+")")
}

func (e *envFlags) Int(p *int, name string, def int, usage string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			e.err = fmt.Errorf("%s=%q: %v", envName(name), v, err)
		}
		def = n
	}
	e.fs.IntVar(p, name, def, usage+" ("+envName(name)+")")
}

func (e *envFlags) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.err = fmt.Errorf("%s=%q: %v", envName(name), v, err)
		}
		def = d
	}
	e.fs.DurationVar(p, name, def, usage+" ("+envName(name)+")")
}

func (e *envFlags) Size(p *byteSize, name string, def byteSize, usage string) {
	*p = def
	if v, ok := os.LookupEnv(envName(name)); ok {
		if err := p.Set(v); err != nil {
			e.err = fmt.Errorf("%s=%q: %v", envName(name), v, err)
		}
	}
	e.fs.Var(p, name, usage+" ("+envName(name)+")")
}

// byteSize is a size flag that takes plain bytes or a unit: 512KiB, 100MB, 5GiB.
type byteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1}}

func (b *byteSize) Set(s string) error {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, unit := range sizeUnits {
		if strings.HasSuffix(u, unit.suffix) {
			u, mult = strings.TrimSpace(strings.TrimSuffix(u, unit.suffix)), unit.mult
			break
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return fmt.Errorf("%q is not a size (bytes, or a number with KiB, MiB, GiB, KB, MB, GB)", s)
	}
	*b = byteSize(n * mult)
	return nil
}

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }
func (b *byteSize) Type() string   { return "size" }
