#!/usr/bin/env bash
# Makes sure the real servers the tests talk to are there: a PostgreSQL server on
# 127.0.0.1:5432 that accepts the postgres role without a password (started, or installed
# from Debian's packages and started, when missing) and the versitygw S3 gateway at the
# pinned version (installed with go install when missing or at another version), and the
# h2spec HTTP/2 conformance tester at its pinned version.
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
# h2spec's v2 tags have no go.mod, so the module proxy knows v2.2.1 as +incompatible.
H2SPEC_VERSION=v2.2.1+incompatible

gobin="$(go env GOPATH)/bin"
vgw="$gobin/versitygw"
have=""
if [ -x "$vgw" ]; then
  have=$(go version -m "$vgw" 2>/dev/null | awk '$1 == "mod" {print $3}')
fi
if [ "$have" != "$VERSITYGW_VERSION" ]; then
  echo "test-deps: installing versitygw $VERSITYGW_VERSION (takes a couple of minutes)"
  go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
fi

h2spec="$gobin/h2spec"
have=""
if [ -x "$h2spec" ]; then
  have=$(go version -m "$h2spec" 2>/dev/null | awk '$1 == "mod" {print $3}')
fi
if [ "$have" != "$H2SPEC_VERSION" ]; then
  echo "test-deps: installing h2spec $H2SPEC_VERSION"
  go install "github.com/summerwind/h2spec/cmd/h2spec@$H2SPEC_VERSION"
fi

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if ! pg_up; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "test-deps: installing PostgreSQL from Debian's packages"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  # The tests connect over TCP as postgres without a password, like on the dev machines.
  if ! $sudo grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    $sudo sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  fi
  echo "test-deps: starting PostgreSQL $version"
  $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 60); do pg_up && break; sleep 0.5; done
  pg_up || { echo "test-deps: PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
fi

here="$(dirname "$0")"
# nginx fronts the cluster in the deployment tests (deploy/nginx.conf); GNU time measures
# the peak memory of commands the tests run; systemd-analyze,
# which verifies the unit file, comes with Debian's systemd, always installed.
"$here/apt-install.sh" "nginx-light=1.22.1-9+deb12u11" "time=1.9-0.2"
# The preview and analysis tools and their sandbox.
"$here/media-deps.sh"
