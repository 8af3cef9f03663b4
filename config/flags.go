package config

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// flagDoc describes one flag for the generated reference: the flag name, its
// environment variable, its default as the user sees it, and its meaning.
type flagDoc struct {
	Name    string
	Env     string
	Default string
	Usage   string
	Secret  bool // a *_FILE variant is accepted
}

// listValue is a repeatable flag. Its environment variable takes a
// comma-separated list.
type listValue struct{ items *[]string }

func (l listValue) String() string {
	if l.items == nil {
		return ""
	}
	return strings.Join(*l.items, ",")
}

func (l listValue) Set(s string) error {
	*l.items = append(*l.items, s)
	return nil
}

// flagSet wraps flag.FlagSet to record documentation and apply environment
// variables the same way for every flag.
type flagSet struct {
	fs        *flag.FlagSet
	envPrefix string
	docs      []flagDoc
	lists     map[string]bool
	secrets   map[string]bool
}

func newFlagSet(name, envPrefix string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(discard{})
	return &flagSet{fs: fs, envPrefix: envPrefix, lists: map[string]bool{}, secrets: map[string]bool{}}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (f *flagSet) envName(name string) string {
	return f.envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func (f *flagSet) doc(name, def, usage string) {
	f.docs = append(f.docs, flagDoc{Name: name, Env: f.envName(name), Default: def, Usage: usage, Secret: f.secrets[name]})
}

func (f *flagSet) str(p *string, name, def, usage string) {
	f.fs.StringVar(p, name, def, usage)
	f.doc(name, def, usage)
}

func (f *flagSet) boolean(p *bool, name string, usage string) {
	f.fs.BoolVar(p, name, false, usage)
	f.doc(name, "off", usage)
}

func (f *flagSet) list(p *[]string, name, def, usage string) {
	f.fs.Var(listValue{p}, name, usage)
	f.lists[name] = true
	f.doc(name, def, usage)
}

// logging adds the two logging flags every command shares.
func (f *flagSet) logging(format, level *string) {
	f.str(format, "log-format", "text", "log output: text or json")
	f.str(level, "log-level", "info", "log level: debug, info, warn or error")
}

func (f *flagSet) secretList(p *[]string, name, usage string) {
	f.secrets[name] = true
	f.list(p, name, "", usage)
}

// parse reads the command line, then fills every flag not given there from
// its environment variable (or the file named by NAME_FILE for secrets), so
// that the flag always wins when both are set.
func (f *flagSet) parse(args []string, getenv func(string) string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: flags start with --", f.fs.Arg(0))
	}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	var firstErr error
	f.fs.VisitAll(func(fl *flag.Flag) {
		if given[fl.Name] || firstErr != nil {
			return
		}
		env := f.envName(fl.Name)
		val, ok := getenv(env), getenv(env) != ""
		if !ok && f.secrets[fl.Name] {
			if path := getenv(env + "_FILE"); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					firstErr = fmt.Errorf("%s_FILE: %w", env, err)
					return
				}
				val, ok = strings.TrimSpace(string(b)), true
				// A secrets file may hold one value per line.
				val = strings.Join(strings.Fields(val), ",")
			}
		}
		if !ok {
			return
		}
		if f.lists[fl.Name] {
			for _, item := range strings.Split(val, ",") {
				if item = strings.TrimSpace(item); item != "" {
					if err := fl.Value.Set(item); err != nil {
						firstErr = fmt.Errorf("%s: %w", env, err)
						return
					}
				}
			}
			return
		}
		if err := fl.Value.Set(val); err != nil {
			firstErr = fmt.Errorf("%s=%q: %w", env, val, err)
		}
	})
	return firstErr
}
