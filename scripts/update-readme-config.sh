#!/usr/bin/env bash
# Rewrites the README's configuration tables from the flag definitions
# (config.Reference); config's tests fail when the two differ.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=$(mktemp)
go run . config-reference > "$ref"
python3 - "$ref" <<'PY'
import sys
ref = open(sys.argv[1]).read()
s = open("README.md").read()
begin, end = "<!-- config:begin -->\n", "<!-- config:end -->"
i, j = s.index(begin) + len(begin), s.index(end)
open("README.md", "w").write(s[:i] + ref + s[j:])
PY
rm -f "$ref"
