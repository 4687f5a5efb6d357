#!/usr/bin/env bash
# Refresh the console's vendored JavaScript (src/wedata/console/static/vendor/) from the npm
# registry: `npm pack <pkg>@<version>` into a temporary directory, then copy the one browser
# file we serve and the package's licence. Node/npm are needed only here, by a developer who
# changes a pin; installing and running the server never needs them (the files are committed).
#
# To move a pin: edit the table below, run `make vendor`, look at the diff, run the browser
# tests (tests/console), commit the new files together with this script.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/src/wedata/console/static/vendor"

# package  version  file in the package  served as  [licence file stem, default: the name's]
# CodeMirror 5 (not 6): plain browser scripts, one per language mode, no bundler needed.
PINS=(
  "htmx.org        2.0.11   dist/htmx.min.js          htmx.min.js"
  "@dagrejs/dagre  3.1.3    dist/dagre.min.js         dagre.min.js"
  "codemirror      5.65.21  lib/codemirror.js         codemirror.js         codemirror"
  "codemirror      5.65.21  lib/codemirror.css        codemirror.css        codemirror"
  "codemirror      5.65.21  mode/sql/sql.js           codemirror-sql.js     codemirror"
  "codemirror      5.65.21  mode/shell/shell.js       codemirror-shell.js   codemirror"
  "codemirror      5.65.21  mode/python/python.js     codemirror-python.js  codemirror"
)

command -v npm >/dev/null || { echo "make vendor needs npm (apt-get install -y npm)" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$DEST"
{
  echo "# Vendored by tools/vendor.sh (make vendor); do not edit by hand."
  echo "# package version file sha256"
} > "$TMP/VERSIONS.new"
for pin in "${PINS[@]}"; do
  read -r pkg version src name stem <<<"$pin"
  stem="${stem:-${name%%.*}}"
  work="$TMP/$(echo "$pkg" | tr '/@' '__')"
  if [ ! -d "$work/package" ]; then
    mkdir -p "$work"
    (cd "$work" && npm pack --silent "$pkg@$version" >/dev/null)
    tar -xzf "$work"/*.tgz -C "$work"
  fi
  cp "$work/package/$src" "$DEST/$name"
  licence="$(ls "$work/package" | grep -i -m1 -E '^licen[cs]e')" || { echo "$pkg has no LICENSE file" >&2; exit 1; }
  cp "$work/package/$licence" "$DEST/$stem.LICENSE.txt"
  echo "$pkg $version $name $(sha256sum "$DEST/$name" | cut -d' ' -f1)" >> "$TMP/VERSIONS.new"
  echo "vendored $pkg@$version -> $name"
done
mv "$TMP/VERSIONS.new" "$DEST/VERSIONS.txt"
