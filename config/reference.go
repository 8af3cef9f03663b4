package config

import (
	"fmt"
	"strings"
)

// Reference renders the flag tables of both commands as Markdown. The README
// embeds this text and a test keeps the two identical, so the documented
// configuration cannot drift from the code.
func Reference() string {
	var b strings.Builder
	write := func(title string, fs *flagSet) {
		fmt.Fprintf(&b, "%s\n\n| flag | environment | default | meaning |\n|---|---|---|---|\n", title)
		for _, d := range fs.docs {
			env := "`" + d.Env + "`"
			if d.Secret {
				env += " or `" + d.Env + "_FILE`"
			}
			def := d.Default
			if def != "" {
				def = "`" + def + "`"
			}
			fmt.Fprintf(&b, "| `--%s` | %s | %s | %s |\n", d.Name, env, def, strings.ReplaceAll(d.Usage, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	write("`editwatch [serve]`, the dashboard (`editwatch migrate` takes the same flags and uses `--db`/`--data-dir`):", (&serveRaw{}).flags())
	write("`editwatch sandbox`, the Extend-compatible server alone:", (&sandboxRaw{}).flags())
	write("`editwatch seed`, synthetic history for a workspace (its deployment flags mean what they mean for the dashboard):", (&seedRaw{}).flags())
	write("`editwatch backup`, a consistent copy of a SQLite store:", (&backupRaw{}).flags())
	write("`editwatch bench`, the load harness (it runs `editwatch seed` and `editwatch --sandbox` itself):", (&benchRaw{}).flags())
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// Usage is the text printed for --help and after a configuration error.
func Usage(command string) string {
	var fs *flagSet
	switch command {
	case CommandSandbox:
		fs = (&sandboxRaw{}).flags()
	case CommandSeed:
		fs = (&seedRaw{}).flags()
	case CommandBackup:
		fs = (&backupRaw{}).flags()
	case CommandBench:
		fs = (&benchRaw{}).flags()
	default:
		fs = (&serveRaw{}).flags()
		command = "serve"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "usage: editwatch %s [flags]\n\ncommands: serve (default), sandbox, migrate, seed, backup, bench, version\n\nflags:\n", command)
	for _, d := range fs.docs {
		def := ""
		if d.Default != "" {
			def = " (default " + d.Default + ")"
		}
		fmt.Fprintf(&b, "  --%-18s %s%s\n  %-20s env %s\n", d.Name, d.Usage, def, "", d.Env)
	}
	return b.String()
}
