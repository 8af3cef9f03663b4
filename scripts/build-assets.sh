#!/usr/bin/env bash
# Builds the committed browser assets: Tailwind CSS into static/dist/, the
# vendored htmx 2 + SSE extension into static/vendor/, PDF.js (pdfjs-dist,
# for the run page's document view) into static/pdfjs-<version>/, then NAME.br and
# NAME.gz beside every served asset (static/cmd/precompress, the compressors
# pinned in go.mod, so the bytes are the same on every machine). Everything
# comes from the npm packages pinned in package-lock.json and the Go modules
# pinned in go.mod; nothing is fetched from a CDN.
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

if [ ! -x node_modules/.bin/tailwindcss ] || [ ! -d node_modules/pdfjs-dist ]; then
  # Optional dependencies left out: pdfjs-dist's is a canvas for Node, not
  # for browsers (.npmrc says the same for a bare npm ci).
  npm ci --no-audit --no-fund --omit=optional
fi

out=static
if $check; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out/dist" "$out/vendor" "$out/js" "$out/img"

node_modules/.bin/tailwindcss -c tailwind.config.js -i static/src/app.css -o "$out/dist/app.css" --minify
test -s "$out/dist/app.css" || { echo "tailwind produced an empty $out/dist/app.css" >&2; exit 1; }

cp node_modules/htmx.org/dist/htmx.min.js "$out/vendor/htmx.min.js"
cp node_modules/htmx-ext-sse/dist/sse.min.js "$out/vendor/sse.js"

# PDF.js keeps its layout in a folder named by its version: the worker, the
# WebAssembly decoders, the fonts and the CMaps are found by URL relative to
# it (wasmUrl, standardFontDataUrl, cMapUrl), so the folder is served as is
# under a stable path and never content-hashed file by file; a new version
# is a new folder. static/pdfjs.go embeds it by that name.
pdfjs_version=$(node -p 'require("pdfjs-dist/package.json").version')
pdfjs=pdfjs-$pdfjs_version
if ! grep -q "^const PDFJSVersion = \"$pdfjs_version\"" static/pdfjs.go; then
  echo "pdfjs-dist is $pdfjs_version but static/pdfjs.go names another version: update PDFJSVersion and its go:embed line" >&2
  exit 1
fi
rm -rf "${out:?}/$pdfjs"
mkdir -p "$out/$pdfjs/build"
cp node_modules/pdfjs-dist/LICENSE "$out/$pdfjs/LICENSE"
cp node_modules/pdfjs-dist/build/pdf.min.mjs node_modules/pdfjs-dist/build/pdf.worker.min.mjs "$out/$pdfjs/build/"
cp -r node_modules/pdfjs-dist/wasm node_modules/pdfjs-dist/standard_fonts node_modules/pdfjs-dist/cmaps "$out/$pdfjs/"
# QuickJS runs a PDF's own JavaScript (enableScripting), which the view
# never turns on.
rm -f "$out/$pdfjs"/wasm/quickjs-eval.* "$out/$pdfjs"/wasm/LICENSE_*QUICKJS
# Compressed where it pays: the scripts, the WebAssembly and the fonts
# (the .bcmap CMaps are compressed already).
pdfjs_served=()
while IFS= read -r f; do pdfjs_served+=("${f#"$out"/}"); done < <(
  find "$out/$pdfjs" -type f \( -name '*.mjs' -o -name '*.js' -o -name '*.wasm' -o -name '*.ttf' -o -name '*.pfb' \) | sort)

# Hand-written assets are not built, only compressed (the text ones; PNGs
# and fonts are compressed already): in --check mode copy them so their
# .br/.gz are made from what is committed.
handwritten=()
for f in static/js/*.js static/img/*.svg; do
  [ -e "$f" ] && handwritten+=("${f#static/}")
done
if $check; then
  for f in "${handwritten[@]}"; do cp "static/$f" "$out/$f"; done
fi
served=(dist/app.css vendor/htmx.min.js vendor/sse.js "${handwritten[@]}" "${pdfjs_served[@]}")
go run ./static/cmd/precompress "${served[@]/#/$out/}"

if $check; then
  status=0
  for f in dist/app.css vendor/htmx.min.js vendor/sse.js; do
    if ! cmp -s "$out/$f" "static/$f"; then
      echo "static/$f is stale: run scripts/build-assets.sh (and go tool templ generate first if templates changed)" >&2
      status=1
    fi
  done
  # The vendored PDF.js folder, file by file (its .br/.gz are compared below).
  if ! diff -r -q -x '*.br' -x '*.gz' "$out/$pdfjs" "static/$pdfjs"; then
    echo "static/$pdfjs is stale: run scripts/build-assets.sh" >&2
    status=1
  fi
  for old in static/pdfjs-*; do
    [ "$old" = "static/$pdfjs" ] || { echo "$old is not the pdfjs-dist in package-lock.json: delete it" >&2; status=1; }
  done
  # A .br or .gz whose asset is gone would be embedded and served as an
  # asset of its own.
  for enc in static/{dist,vendor,js,img}/*.{br,gz}; do
    [ -e "$enc" ] || continue
    plain=${enc%.*}
    if [[ ! " ${served[*]} " == *" ${plain#static/} "* ]]; then
      echo "$enc belongs to no served asset: delete it (or add ${plain#static/} to scripts/build-assets.sh)" >&2
      status=1
    fi
  done
  for f in "${served[@]}"; do
    for enc in br gz; do
      if ! cmp -s "$out/$f.$enc" "static/$f.$enc"; then
        echo "static/$f.$enc is stale or missing: run scripts/build-assets.sh" >&2
        status=1
      fi
    done
  done
  exit $status
fi
echo "vendored PDF.js $pdfjs_version into static/$pdfjs ($(du -sk "static/$pdfjs" | cut -f1) KB with its .br/.gz)"
echo "built static/dist/app.css ($(wc -c <static/dist/app.css) bytes, $(wc -c <static/dist/app.css.br) as brotli), vendored htmx $(node -p 'require("htmx.org/package.json").version') and htmx-ext-sse $(node -p 'require("htmx-ext-sse/package.json").version')"
