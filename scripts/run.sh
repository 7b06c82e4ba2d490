#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (as root): install what is needed
# (scripts/setup.sh), then `iglu build` — farm image, farm up, sources seeded offline from
# Debian's source archive, musl on the farm, busybox, mksh, zlib and Linux in the build
# root, iglunix.img, and a boot under QEMU that must print the init's line.
# Safe to run twice: every step reuses what is already there. Arguments go to iglu
# (e.g. --workdir DIR, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >&2   # its chatter on stderr: stdout is iglu's result (--json)
exec node dist/bin/iglu.js build "$@"
