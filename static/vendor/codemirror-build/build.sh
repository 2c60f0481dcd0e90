#!/bin/sh
# Rebuild static/vendor/codemirror-6.0.2.min.js from the versions pinned in
# package.json and package-lock.json (npm ci installs exactly those). Needs
# Node 18+ and npm; works in a scratch directory, so nothing lands in the repo
# but the bundle. Nothing is built when oaweb runs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../codemirror-6.0.2.min.js"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/entry.js" "$here/package.json" "$here/package-lock.json" "$work/"
cd "$work"
npm ci --no-audit --no-fund
npx esbuild entry.js --bundle --minify --format=iife --global-name=CM --target=es2017 \
  --legal-comments=none \
  --banner:js="/* CodeMirror 6 and Lezer (codemirror.net), (C) Marijn Haverbeke and others, MIT licence: static/vendor/codemirror-build/LICENSE. Built by static/vendor/codemirror-build/build.sh. */" \
  --outfile="$out"
echo "wrote $out"
