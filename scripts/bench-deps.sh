#!/usr/bin/env bash
# Installs the peers the benchmark measures refstore against: nginx (static files and
# WebDAV PUT) and wrk from Debian's packages, versitygw and PostgreSQL through
# test-deps.sh, and MinIO at a pinned version (a long build: skip it with BENCH_MINIO=0;
# the benchmark then leaves MinIO's columns out).
set -euo pipefail
cd "$(dirname "$0")/.."

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

./scripts/test-deps.sh

missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "bench-deps: installing ${missing[*]} from Debian's packages"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${BENCH_MINIO:-1}" != 0 ]; then
  minio="$(go env GOPATH)/bin/minio"
  have=""
  [ -x "$minio" ] && have=$(go version -m "$minio" 2>/dev/null | awk '$1 == "mod" {print $3}')
  if [ "$have" != "$MINIO_VERSION" ]; then
    echo "bench-deps: installing MinIO $MINIO_VERSION (a build of several minutes)"
    go install "github.com/minio/minio@$MINIO_VERSION"
  fi
fi
