#!/usr/bin/env bash
# Installs the Debian packages that previews (and later OCR) run as external tools, at
# pinned versions: bubblewrap (the sandbox), ffmpeg (video poster frames) and
# poppler-utils (PDF pages). prlimit, which sets the sandbox's resource limits, comes with
# util-linux, which Debian always has. A package already installed is left as it is (a
# different version is reported, never up- or downgraded here); a missing one is
# installed at its pinned version, or at the archive's candidate, with a warning, when
# Debian no longer carries the pinned one (security updates replace versions).
# At the end it checks that bubblewrap can start a sandbox on this kernel.
set -euo pipefail

PINNED=(
  "bubblewrap=0.8.0-2+deb12u1"
  "ffmpeg=7:5.1.9-0+deb12u1"
  "poppler-utils=22.12.0-2+deb12u3"
)

"$(dirname "$0")/apt-install.sh" "${PINNED[@]}"

command -v prlimit >/dev/null || { echo "media-deps: prlimit (util-linux) is missing" >&2; exit 1; }

# The same kind of sandbox internal/sandbox starts, running /usr/bin/true.
if ! bwrap --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/bin /bin \
  --proc /proc --dev /dev --unshare-all --unshare-user --uid 65534 --gid 65534 --die-with-parent \
  --new-session -- /usr/bin/true; then
  echo "media-deps: bubblewrap cannot create a sandbox here (user namespaces disabled?" \
    "see kernel.unprivileged_userns_clone, user.max_user_namespaces, AppArmor's userns restriction);" \
    "previews of PDF and video will answer 501" >&2
  exit 1
fi
echo "media-deps: bubblewrap $(bwrap --version | awk '{print $2}'), $(ffmpeg -version | head -n1 | awk '{print $1, $3}')," \
  "$(pdftoppm -v 2>&1 | head -n1 | awk '{print $1, $3}')"
