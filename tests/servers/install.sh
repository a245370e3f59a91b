#!/usr/bin/env bash
# Installs the real servers the scale-out tests start for themselves: PostgreSQL and Redis from
# Debian's packages. Idempotent: when both are already there it installs nothing. CI runs it as
# root; elsewhere it uses sudo when it is available. The tests never use the system services
# these packages set up: each session starts its own servers on 127.0.0.1 in a temporary dir.
set -euo pipefail

log() { printf 'servers-install: %s\n' "$*" >&2; }

have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }
have_redis() { command -v redis-server >/dev/null 2>&1; }

if have_postgres && have_redis; then
    log "already installed: $(ls -d /usr/lib/postgresql/*/bin | head -1), $(command -v redis-server)"
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "not root and no sudo: install postgresql and redis-server"; exit 1; }
    sudo=(sudo)
fi

packages=()
have_postgres || packages+=(postgresql)
have_redis || packages+=(redis-server)
log "installing ${packages[*]}"
# policy-rc.d 101: the packages must not start their system services (no init on CI machines,
# and the tests start their own servers anyway).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    made_policy=1
fi
cleanup() { if [[ $made_policy -eq 1 ]]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null

have_postgres || { log "postgresql installed but no /usr/lib/postgresql/*/bin/postgres"; exit 1; }
have_redis || { log "redis-server installed but not on PATH"; exit 1; }
log "done"
