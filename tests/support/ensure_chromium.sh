#!/bin/sh
# Make sure Debian's `chromium` is installed, for the HTML report tests (tests/test_report_html.py).
# Idempotent and quick when chromium is already there. Installs from the distribution's package
# repositories only (apt-get), never a downloaded browser. Needs root, or sudo without a password.
#
#   tests/support/ensure_chromium.sh          install when missing; exit 0 when chromium runs
#
# Exit codes: 0 chromium is installed, 1 it could not be installed.
set -eu

found() {
    for name in chromium chromium-browser; do
        if command -v "$name" >/dev/null 2>&1; then
            echo "chromium: $(command -v "$name")"
            return 0
        fi
    done
    return 1
}

found && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
else
    echo "chromium is missing and installing it needs root: run 'apt-get install -y chromium' as root" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium is missing and there is no apt-get here: install the 'chromium' package yourself" >&2
    exit 1
fi

echo "installing Debian's chromium package (apt-get) ..." >&2
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -qq
$as_root apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
found
