#!/usr/bin/env bash
# Installs Debian packages at pinned versions: apt-install.sh NAME=VERSION …
# A package already installed is left as it is (a different version is reported, never up-
# or downgraded here); a missing one is installed at its pinned version, or, when Debian no
# longer carries it (security updates replace versions), at the archive's candidate with a
# warning. The scripts that know what the tests need (test-deps.sh, media-deps.sh, …) call
# it with their lists.
set -euo pipefail

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

installed_version() {
  dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null | awk '$1 == "installed" {print $2}'
}

missing=()
for p in "$@"; do
  name="${p%%=*}" want="${p#*=}"
  have="$(installed_version "$name")"
  if [ -z "$have" ]; then
    missing+=("$p")
  elif [ "$have" != "$want" ]; then
    echo "apt-install: warning: $name $have is installed; the pinned version is $want" >&2
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "apt-install: installing ${missing[*]%%=*} from Debian's packages"
$sudo apt-get update -qq
args=()
for p in "${missing[@]}"; do
  name="${p%%=*}" want="${p#*=}"
  if apt-cache madison "$name" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF "$want"; then
    args+=("$p")
  else
    cand="$(apt-cache policy "$name" | awk '/Candidate:/ {print $2}')"
    if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
      echo "apt-install: $name is not in the configured Debian archives" >&2
      exit 1
    fi
    echo "apt-install: warning: $name $want is gone from the archive; installing the candidate $cand" >&2
    args+=("$name=$cand")
  fi
done
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${args[@]}" >/dev/null
