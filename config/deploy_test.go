package config

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// deployDir holds the shipped deployment files: the systemd unit and its
// environment file, oauth2-proxy's configuration and the reverse-proxy
// example.
const deployDir = "../deploy"

var (
	envVarName      = regexp.MustCompile(`\bEDITWATCH_[A-Z0-9_]+`)
	flagName        = regexp.MustCompile(`(?:^|\s)--([a-z][a-z0-9-]*)`)
	editwatchInvoke = regexp.MustCompile(`(?:^|[\s/])editwatch(?:\s+serve)?\s+--`)
)

// namedInDeployFiles returns the EDITWATCH_* variables a file names
// anywhere, and the flags of the editwatch command lines it shows
// (continued over lines ending in a backslash).
func namedInDeployFiles(text string) (vars, flags []string) {
	vars = envVarName.FindAllString(text, -1)
	continued := false
	for _, line := range strings.Split(text, "\n") {
		if continued || editwatchInvoke.MatchString(line) {
			cmdLine := line
			if i := strings.Index(cmdLine, "editwatch "); i >= 0 && !continued {
				cmdLine = cmdLine[i:]
			}
			for _, m := range flagName.FindAllStringSubmatch(cmdLine, -1) {
				flags = append(flags, m[1])
			}
			continued = strings.HasSuffix(strings.TrimSpace(line), `\`)
		}
	}
	return vars, flags
}

// TestDeployFilesNameRealSettings: every EDITWATCH_* variable and every
// flag of an editwatch command line in deploy/ exists for `editwatch
// serve`, so the shipped examples cannot drift from the code.
func TestDeployFilesNameRealSettings(t *testing.T) {
	known := map[string]bool{}
	flags := map[string]bool{}
	for _, d := range (&serveRaw{}).flags().docs {
		known[d.Env] = true
		if d.Secret {
			known[d.Env+"_FILE"] = true
		}
		flags[d.Name] = true
	}
	files := []string{"editwatch.service", "editwatch.env", "oauth2-proxy.cfg", "nginx-base-path.conf"}
	namedAnything := map[string]bool{}
	for _, name := range files {
		text, err := os.ReadFile(filepath.Join(deployDir, name))
		if err != nil {
			t.Fatalf("deploy file: %v", err)
		}
		vars, fl := namedInDeployFiles(string(text))
		for _, v := range vars {
			if !known[v] {
				t.Errorf("%s names %s, which is no setting of editwatch serve", name, v)
			}
			namedAnything[name] = true
		}
		for _, f := range fl {
			if !flags[f] {
				t.Errorf("%s names the flag --%s, which editwatch serve does not have", name, f)
			}
			namedAnything[name] = true
		}
	}
	for _, name := range files {
		if !namedAnything[name] {
			t.Errorf("%s names no Editwatch setting: the check found nothing to check", name)
		}
	}
	// The environment file hands the secrets over as files only.
	env, _ := os.ReadFile(filepath.Join(deployDir, "editwatch.env"))
	for _, secret := range []string{"EDITWATCH_SESSION_KEY", "EDITWATCH_ENCRYPTION_KEY"} {
		if !regexp.MustCompile(`(?m)^`+secret+`_FILE=`).Match(env) || regexp.MustCompile(`(?m)^`+secret+`=`).Match(env) {
			t.Errorf("editwatch.env must set %s_FILE, and not %s itself", secret, secret)
		}
	}
}

// TestNamedInDeployFiles: the extractor finds the variables and the flags
// of editwatch command lines, including continued ones, and not other
// programs' flags.
func TestNamedInDeployFiles(t *testing.T) {
	text := "EDITWATCH_BOGUS=1\n" +
		"#   editwatch --listen 127.0.0.1:8080 \\\n" +
		"#     --bogus-flag x\n" +
		"oauth2-proxy --upstream=http://x/ --skip-auth-route=y\n" +
		"ExecStart=/usr/local/bin/editwatch serve --read-only\n"
	vars, flags := namedInDeployFiles(text)
	if diff := cmp.Diff([]string{"EDITWATCH_BOGUS"}, vars); diff != "" {
		t.Errorf("variables (-want +got):\n%s", diff)
	}
	slices.Sort(flags)
	if diff := cmp.Diff([]string{"bogus-flag", "listen", "read-only"}, flags); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}
}
