package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/refstore/refstore/internal/config"
)

// envFlags registers flags whose defaults come from REFSTORE_* variables, so every
// setting can be given either way (a flag wins over the environment).
type envFlags struct {
	fs  *pflag.FlagSet
	err error
}

// envPrefix makes a flag's environment variable: max-upload-size is REFSTORE_MAX_UPLOAD_SIZE.
const envPrefix = "REFSTORE_"

func envName(flag string) string { return config.EnvName(envPrefix, flag) }

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

// Duration registers a duration flag that prints and takes 30m, 24h, 90d.
func (e *envFlags) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	e.Var(newDuration(p, def, ""), name, usage)
}

// DurationAuto is Duration whose default, a negative value, means what auto says in words
// ("0 on files, 15m on S3"): the usage text ends with it, and "auto" sets it back.
func (e *envFlags) DurationAuto(p *time.Duration, name, auto, usage string) {
	e.Var(newDuration(p, -1, auto), name, usage)
	f := e.fs.Lookup(name)
	f.Usage += " (default " + auto + ")"
}

func (e *envFlags) Size(p *byteSize, name string, def byteSize, usage string) {
	*p = def
	e.Var(p, name, usage)
}

// Addr registers a host:port flag checked as it is set.
func (e *envFlags) Addr(p *string, name, def, usage string) {
	e.Var(newListenAddr(p, def, "--"+name), name, usage)
}

// Var registers a flag of any value type; the environment's value goes through its Set.
func (e *envFlags) Var(v pflag.Value, name, usage string) {
	if s, ok := os.LookupEnv(envName(name)); ok {
		if err := v.Set(s); err != nil {
			e.err = fmt.Errorf("%s=%q: %v", envName(name), s, err)
		}
	}
	e.fs.Var(v, name, usage+" ("+envName(name)+")")
}

// flagError drops pflag's `invalid argument "8080" for "--addr" flag:` before a message
// that already names the flag and the value.
func flagError(_ *cobra.Command, err error) error {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		if cause := invalid.Unwrap(); strings.HasPrefix(cause.Error(), "--"+invalid.GetFlag().Name+" ") {
			return cause
		}
	}
	return err
}
