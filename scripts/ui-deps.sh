#!/usr/bin/env bash
# Installs what the web UI's browser tests need (e2e/ui, run by go test ./e2e -run UI):
# Debian's Chromium at the pinned version (or, when Debian no longer has that version, the
# current one, with a warning: security updates replace Chromium often), ffmpeg for the
# sample video, Node.js, and the pinned npm packages of e2e/ui/package-lock.json
# (playwright-core, axe-core, tus-js-client) with `npm ci`. Playwright's own browser
# download (`npx playwright install`) is not used: the tests drive /usr/bin/chromium.
set -euo pipefail

CHROMIUM_VERSION=156.0.8078.114-1~deb12u1
NODE_MAJOR_MIN=20

here="$(cd "$(dirname "$0")/.." && pwd)"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
updated=""
apt_update() {
  if [ -z "$updated" ]; then
    $sudo apt-get update -qq
    updated=1
  fi
}
installed() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

have=$(installed chromium)
if [ "$have" != "$CHROMIUM_VERSION" ]; then
  apt_update
  if DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "chromium=$CHROMIUM_VERSION" >/dev/null 2>&1; then
    echo "ui-deps: installed chromium $CHROMIUM_VERSION"
  else
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
    echo "ui-deps: WARNING: chromium $CHROMIUM_VERSION is not available; using $(installed chromium)." \
      "Update CHROMIUM_VERSION in scripts/ui-deps.sh once the tests pass with it." >&2
  fi
fi

if ! command -v ffmpeg >/dev/null; then
  apt_update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq ffmpeg >/dev/null
fi

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt "$NODE_MAJOR_MIN" ]; then
  apt_update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
  if [ "$(node_major)" -lt "$NODE_MAJOR_MIN" ]; then
    echo "ui-deps: Node.js $NODE_MAJOR_MIN or later is needed; found $(node --version 2>/dev/null || echo none)" >&2
    exit 1
  fi
fi

# npm ci is skipped when every package of the lock file is installed at its version.
cd "$here/e2e/ui"
if ! node -e 'const l=require("./package-lock.json").packages; for (const [p,v] of Object.entries(l)) if (p && require("./"+p+"/package.json").version !== v.version) process.exit(1)' 2>/dev/null; then
  echo "ui-deps: npm ci in e2e/ui"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
