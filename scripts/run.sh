#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (as root): install, build the farm image,
# bring the farm up, seed the source cache offline from Debian's source archive, and run
# the toolchain phase (musl through the farm), then the chroot phase (busybox, mksh, zlib).
# Safe to run twice: every step reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
iglu() { node dist/src/cli.js "$@"; }
iglu doctor
iglu image build
iglu farm up "$@"
iglu sources seed
iglu toolchain build --offline
iglu chroot build --offline
