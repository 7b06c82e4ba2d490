#!/usr/bin/env bash
# Installs what iglu needs on Debian 12 as root and starts a Docker Engine when none
# answers. Safe to run twice: apt and npm ci are idempotent, dockerd is started once.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (apt-get, dockerd)" >&2; exit 1; }

PKGS=(docker.io distcc debootstrap iptables iproute2 mksh zstd tar bzip2 xz-utils patch ca-certificates util-linux
      qemu-system-x86 ovmf e2fsprogs dosfstools mtools fdisk bubblewrap inotify-tools chromium)
export DEBIAN_FRONTEND=noninteractive
# `iglu sources seed` reads upstream tarballs from Debian's source archive: add a deb-src
# twin of the machine's own Debian source list (the mirror stays apt's business).
if [ -f /etc/apt/sources.list.d/debian.sources ] && [ ! -f /etc/apt/sources.list.d/iglu-deb-src.sources ]; then
  sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >/etc/apt/sources.list.d/iglu-deb-src.sources
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null

# dockerd: start it unless an engine already answers on the default socket
DOCKER=/usr/bin/docker   # the docker.io CLI matching the engine (API 1.41)
if ! "$DOCKER" version >/dev/null 2>&1; then
  echo "setup.sh: starting dockerd (log: /var/log/dockerd.log)" >&2
  setsid nohup dockerd --host unix:///var/run/docker.sock >>/var/log/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 100); do "$DOCKER" version >/dev/null 2>&1 && break; sleep 0.2; done
  "$DOCKER" version >/dev/null 2>&1 || { echo "setup.sh: dockerd did not answer; see /var/log/dockerd.log" >&2; exit 1; }
fi

npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
