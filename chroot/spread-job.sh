# spread-job.sh — one package build as a swarm job (iglu chroot build --spread).
# Runs as root in the job's task container (the farm image, on the farm's internal
# overlay only). It fetches the job's bundle from the package store and checks it
# against its sha256, unpacks it at / (/sysroot, /iglu/runner, /iglu/tree with the
# fetched sources, /iglu/build, /iglu/job/env), runs the recipe's build and package
# phases as the unprivileged sandbox uid (no capabilities, no new privileges, no network but
# lo, no user namespace of its own: chroot/no-userns, only the environment in /iglu/job/env),
# ends every process that build left, reports the
# container's resource use, and on success PUTs out/ and the compile logs to the
# store's staging/ under the job's token. Exits with the build's status.
#
# Environment: IGLU_STORE (the store's URL), IGLU_BUNDLE (sha256), IGLU_TOKEN,
# IGLU_RECIPE_DIR (the recipe's directory inside), IGLU_UID, IGLU_TARGET_SETUP (the shell
# that points cc and musl's loader at the target: src/chroot/target-script.ts),
# IGLU_DISTCC_ALLOW (the distccd tasks the build's compiles may reach, "ADDRESS PORT" lines:
# the build has no network but lo, and distcc goes through chroot/distcc-forward),
# IGLU_MEMORY_BYTES (optional: each build process's address space, prlimit --as),
# IGLU_KERNEL_HEADERS (optional: "FROM:TO …" kernel header directories under usr/include
# that the bundle's sysroot leaves out because this image, the build root's base, has them).
set -eu
: "${IGLU_STORE:?}" "${IGLU_BUNDLE:?}" "${IGLU_TOKEN:?}" "${IGLU_RECIPE_DIR:?}" "${IGLU_UID:?}" "${IGLU_TARGET_SETUP:?}" "${IGLU_DISTCC_ALLOW:?}"
start=$(date +%s)
say() { printf 'iglu-job: %s\n' "$*"; }
say "on node ${IGLU_NODE:-?}, fetching bundle $IGLU_BUNDLE"
mkdir -p /iglu/job
curl -fsS --retry 5 --retry-connrefused -o /iglu/job/bundle.tar "$IGLU_STORE/cas/$IGLU_BUNDLE"
printf '%s  %s\n' "$IGLU_BUNDLE" /iglu/job/bundle.tar | sha256sum -c --status || { say "the bundle does not match its sha256"; exit 97; }
tar -x -f /iglu/job/bundle.tar -C / --no-same-owner
rm -f /iglu/job/bundle.tar
chown -R "$IGLU_UID:$IGLU_UID" /iglu/tree /iglu/build
# the kernel headers, under what the sysroot's packages brought (-n), as copied first on the host
for dirs in ${IGLU_KERNEL_HEADERS:-}; do
	mkdir -p "/sysroot/usr/include/${dirs#*:}"
	cp -a -n "/usr/include/${dirs%%:*}/." "/sysroot/usr/include/${dirs#*:}/"
done
# the target's compilers and musl's loader, as in the build root
sh -c "$IGLU_TARGET_SETUP"
mkdir -p /iglu/home && chown "$IGLU_UID:$IGLU_UID" /iglu/home
# distcc's way out of the build's empty network namespace: a Unix socket to the listed tasks
printf '%s' "$IGLU_DISTCC_ALLOW" > /run/iglu-distcc.allow
perl /iglu/runner/distcc-forward /run/iglu-distcc/socket /run/iglu-distcc.allow &
fwd=$!
for _ in $(seq 50); do [ -S /run/iglu-distcc/socket ] && break; sleep 0.1; done
set +e
xargs -0 -a /iglu/job/env unshare --net sh -c 'ip link set lo up && exec ${IGLU_MEMORY_BYTES:+prlimit --as=$IGLU_MEMORY_BYTES:$IGLU_MEMORY_BYTES --} setpriv --reuid="$IGLU_UID" --regid="$IGLU_UID" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs env -i "$@" /usr/bin/python3 -I /iglu/runner/no-userns mksh /iglu/runner/iglupkg.sh bp' iglu-job 2>&1
code=$?
set -e
kill "$fwd" 2>/dev/null || true
# whatever the build started is ended before anything of it is read
setpriv --reuid="$IGLU_UID" --regid="$IGLU_UID" --clear-groups kill -9 -1 2>/dev/null || true
# the container's cgroup: cgroup v2 (cpu.stat, memory.peak) or v1 (cpuacct, memory)
cpu_us=0; mem=0
if [ -r /sys/fs/cgroup/cpu.stat ]; then
	cpu_us=$(sed -n 's/^usage_usec //p' /sys/fs/cgroup/cpu.stat)
	mem=$(cat /sys/fs/cgroup/memory.peak 2>/dev/null || echo 0)
elif [ -r /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then
	cpu_us=$(( $(cat /sys/fs/cgroup/cpuacct/cpuacct.usage) / 1000 ))
	mem=$(cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes 2>/dev/null || echo 0)
fi
disk=$(du -sk /iglu/tree /iglu/build 2>/dev/null | awk '{ n += $1 } END { print n * 1024 }')
printf 'iglu-job-usage: {"exit":%d,"cpuSeconds":%s,"wallSeconds":%d,"peakMemoryBytes":%s,"diskBytes":%s}\n' \
	"$code" "$(awk -v u="${cpu_us:-0}" 'BEGIN { printf "%.1f", u / 1e6 }')" "$(( $(date +%s) - start ))" "${mem:-0}" "${disk:-0}"
if [ "$code" -eq 0 ]; then
	tar -c -f - -C "$IGLU_RECIPE_DIR" out -C / iglu/build | curl -fsS --retry 5 -T - "$IGLU_STORE/staging/$IGLU_TOKEN/out.tar" ||
		{ say "the store refused out/ (it takes at most 4 GiB, holes of sparse files counted)"; exit 98; }
	say "sent out/ to the store"
fi
exit "$code"
