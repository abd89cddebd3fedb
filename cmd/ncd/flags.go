package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// listValue is a flag holding a list: "a,b" and repeated flags add up, so
// --novel A --novel B,C means A, B and C (a plain string flag kept only the
// last one, silently). Repeats are dropped, first appearance order kept.
type listValue struct{ vals []string }

func (l *listValue) Set(s string) error {
	l.vals = appendUnique(l.vals, splitList(s)...)
	return nil
}

func (l *listValue) String() string { return strings.Join(l.vals, ",") }

// Type names the value in --help ("--novel list").
func (l *listValue) Type() string { return "list" }

// onceValue is a text flag that may be given once: a repeated --lr-range
// used to keep the last range only, silently.
type onceValue struct {
	name, val string
	set       bool
}

func (o *onceValue) Set(s string) error {
	if o.set {
		return fmt.Errorf("--%s given twice (%q, then %q): give one range, LOW,HIGH", o.name, o.val, s)
	}
	o.val, o.set = s, true
	return nil
}

func (o *onceValue) String() string { return o.val }

// Type is "string", as the flag was: --help and viper read it as text.
func (o *onceValue) Type() string { return "string" }

// addListFlag registers a list flag (see listValue).
func addListFlag(cmd *cobra.Command, name, usage string) {
	cmd.Flags().Var(&listValue{}, name, usage+"; repeat the flag or separate by commas")
}

// getList reads a list flag from wherever it was set: the flag (already
// merged, see listValue), an NCD_* variable ("a,b") or a config file, where
// it may be a YAML list ([A, D]), a string ("A,D") or a single value (3);
// YAML list items may themselves hold commas.
func getList(v *viper.Viper, key string) []string {
	var out []string
	switch x := v.Get(key).(type) {
	case nil:
	case string:
		out = appendUnique(out, splitList(x)...)
	case []string:
		for _, s := range x {
			out = appendUnique(out, splitList(s)...)
		}
	case []any:
		for _, s := range x {
			out = appendUnique(out, splitList(fmt.Sprint(s))...)
		}
	default:
		out = appendUnique(out, splitList(fmt.Sprint(x))...)
	}
	return out
}

// flagString is a flag's effective value as text, as configs and the
// model's provenance record it (a list joined by commas).
func flagString(v *viper.Viper, f *pflag.Flag) string {
	if _, ok := f.Value.(*listValue); ok {
		return strings.Join(getList(v, f.Name), ",")
	}
	return v.GetString(f.Name)
}

func appendUnique(dst []string, vals ...string) []string {
	for _, s := range vals {
		if !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

// typedConfig types settings (flag name -> value as text, as the model file
// and best.yaml record them) for --json by the flags' types: numbers and
// booleans as JSON numbers and booleans ("epochs": 200, not "200"), lists
// as arrays, everything else (and a value that does not parse) as text.
func typedConfig(flags *pflag.FlagSet, settings map[string]string) map[string]any {
	out := make(map[string]any, len(settings))
	for k, s := range settings {
		out[k] = s
		f := flags.Lookup(k)
		if f == nil {
			continue
		}
		switch f.Value.Type() {
		case "int", "int64":
			if x, err := strconv.ParseInt(s, 10, 64); err == nil {
				out[k] = x
			}
		case "uint64":
			if x, err := strconv.ParseUint(s, 10, 64); err == nil {
				out[k] = x
			}
		case "float64":
			// NaN and infinities have no JSON number: they stay text.
			if x, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(x) && !math.IsInf(x, 0) {
				out[k] = x
			}
		case "bool":
			if x, err := strconv.ParseBool(s); err == nil {
				out[k] = x
			}
		case "list":
			out[k] = append([]string{}, splitList(s)...)
		}
	}
	return out
}
