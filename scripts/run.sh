#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (as root): install, build the farm image,
# bring the farm up. Safe to run twice: every step reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
node dist/src/cli.js doctor
node dist/src/cli.js image build
node dist/src/cli.js farm up "$@"
