#!/usr/bin/env bash
# Install codesolve from scratch on a fresh machine: venv, packages, sandbox image.
# Idempotent: a second run only checks. Needs python3 >= 3.11; the offline image
# build needs root (debootstrap) and a reachable Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev,ray]'  # ray: the cluster executor and its tests

# Headless Chromium renders the HTML run report in the tests (Debian's package; no network assets).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
        || echo "install: chromium could not be installed; the browser test will be skipped" >&2
fi

# codesolve swe: git checks out and diffs instances; GNU patch is the last fallback for applying patches.
for tool in git patch; do
    if ! command -v "$tool" >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
    fi
done

if docker info >/dev/null 2>&1; then
    if ! command -v debootstrap >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    .venv/bin/codesolve sandbox build
else
    echo "install: no Docker engine reachable; only the local backend will work" >&2
fi
