#!/usr/bin/env bash
# Builds the committed browser assets: Tailwind CSS into static/dist/ and the
# vendored htmx 2 + SSE extension into static/vendor/. Everything comes from
# the npm packages pinned in package-lock.json; nothing is fetched from a CDN.
#
#   scripts/build-assets.sh          build in place
#   scripts/build-assets.sh --check  build into a temporary dir and fail if the
#                                    committed files differ (for CI)
set -euo pipefail

cd "$(dirname "$0")/.."

# The build must not depend on when caniuse-lite was last updated.
export BROWSERSLIST_IGNORE_OLD_DATA=1

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if [ ! -x node_modules/.bin/tailwindcss ]; then
  npm ci --no-audit --no-fund
fi

out=static
if $check; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  mkdir -p "$out/dist" "$out/vendor"
fi
mkdir -p "$out/dist" "$out/vendor"

node_modules/.bin/tailwindcss -c tailwind.config.js -i static/src/app.css -o "$out/dist/app.css" --minify
test -s "$out/dist/app.css" || { echo "tailwind produced an empty $out/dist/app.css" >&2; exit 1; }

cp node_modules/htmx.org/dist/htmx.min.js "$out/vendor/htmx.min.js"
cp node_modules/htmx-ext-sse/dist/sse.min.js "$out/vendor/sse.js"

if $check; then
  status=0
  for f in dist/app.css vendor/htmx.min.js vendor/sse.js; do
    if ! cmp -s "$out/$f" "static/$f"; then
      echo "static/$f is stale: run scripts/build-assets.sh (and go tool templ generate first if templates changed)" >&2
      status=1
    fi
  done
  exit $status
fi
echo "built static/dist/app.css ($(wc -c <static/dist/app.css) bytes), vendored htmx $(node -p 'require("htmx.org/package.json").version') and htmx-ext-sse $(node -p 'require("htmx-ext-sse/package.json").version')"
