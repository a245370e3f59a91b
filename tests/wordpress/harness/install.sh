#!/usr/bin/env bash
# Installs what the real-WordPress test harness needs, from Debian's archive only:
# WordPress 6.1 (Debian's package), MariaDB and the PHP CLI with the extensions WordPress uses.
# The tests start their own private MariaDB and PHP's built-in server (tests/wordpress/wp_harness.py);
# nothing here starts a service.
# Idempotent: when every package is already installed it only checks and exits (well under a second).
set -euo pipefail

packages=(wordpress mariadb-server php-cli php-mysql php-curl php-xml php-mbstring)

log() { printf 'wordpress-install: %s\n' "$*" >&2; }

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$package")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    log "already installed"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    log "needs root to install: ${missing[*]} (run it with sudo)"
    exit 1
fi

start=$SECONDS
log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A package's post-install script must not start a system-wide database (the tests run their own):
# policy-rc.d is the Debian way to say "do not start services" for the length of this install.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
fi
cleanup() { if [[ $made_policy -eq 1 ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
log "done in $((SECONDS - start)) s"
