#!/usr/bin/env bash
# Measures what a browser transfers on a first load of the runs page and the
# overview: the HTML plus every stylesheet, script and icon under /static/ it
# links, as sent to a browser offering "gzip, deflate, br" (bytes on the
# wire, before decoding; headers not counted). It connects with the sandbox's
# demo key first, so start the dashboard in sandbox mode:
#
#   go run . --sandbox --listen 127.0.0.1:18080 --data-dir "$(mktemp -d)" &
#   scripts/measure-first-load.sh http://127.0.0.1:18080/
set -euo pipefail

base=${1:-http://127.0.0.1:18080/}
base=${base%/}/
encoding=${ACCEPT_ENCODING:-gzip, deflate, br}
key=${SANDBOX_KEY:-sk_sandbox_demo}

jar=$(mktemp)
trap 'rm -f "$jar"' EXIT

# Connect: the form carries a CSRF token that must match its cookie.
form=$(curl -fsS -c "$jar" -b "$jar" "${base}connect")
token=$(sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' <<<"$form" | head -n1)
[ -n "$token" ] || { echo "no CSRF token on ${base}connect" >&2; exit 1; }
curl -fsS -o /dev/null -c "$jar" -b "$jar" --data-urlencode "_csrf=$token" \
  --data-urlencode "api_key=$key" "${base}connect"

# wire URL prints the bytes transferred for URL as a browser would receive
# them (compressed if the server compressed).
wire() { curl -fsS -o /dev/null -b "$jar" -H "Accept-Encoding: $encoding" -w '%{size_download}' "$1"; }

origin=$(sed -E 's#^(https?://[^/]+).*#\1#' <<<"$base")
total_all=0
for page in runs ""; do
  url="${base}${page}"
  html=$(curl -fsS --compressed -b "$jar" "$url")
  page_bytes=$(wire "$url")
  assets=$(grep -oE '(href|src)="[^"]*/static/[^"]*"' <<<"$html" | sed -E 's/^(href|src)="([^"]*)"$/\2/' | sort -u)
  asset_bytes=0
  for a in $assets; do
    n=$(wire "$origin$a")
    asset_bytes=$((asset_bytes + n))
    printf '  %-40s %7d bytes\n' "${a##*/}" "$n"
  done
  total=$((page_bytes + asset_bytes))
  total_all=$((total_all + total))
  printf '%-10s html %6d + assets %6d = %6d bytes (%.1f KB)\n' "/${page}" "$page_bytes" "$asset_bytes" "$total" \
    "$(awk -v n="$total" 'BEGIN{print n/1000}')"
done
