# iglunix, the base of the system: /etc (os-release, profile, passwd, group, hostname),
# /sbin/init and the boot's smoke test. The scripts are files beside this recipe, as
# Iglunix's own iglunix recipe keeps profile.sh and motd. Written for iglu in the
# Iglunix recipe format.
pkgname=iglunix
pkgver=0.1
pkgrel=0
desc="Iglunix base files, init and smoke test"
deps="musl mksh toybox busybox zstd"
mkdeps=""

fetch() {
	return 0
}

build() {
	for f in init smoke-test profile os-release; do
		[ -f "../$f" ] || fatal "$f is missing beside build.sh"
	done
}

package() {
	install -Dm755 ../init "$pkgdir/sbin/init"
	install -Dm755 ../smoke-test "$pkgdir/usr/libexec/iglunix/smoke-test"
	install -Dm644 ../profile "$pkgdir/etc/profile"
	install -Dm644 ../os-release "$pkgdir/usr/lib/os-release"
	ln -s ../usr/lib/os-release "$pkgdir/etc/os-release"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >passwd
	printf 'root:x:0:\n' >group
	install -Dm644 passwd "$pkgdir/etc/passwd"
	install -Dm644 group "$pkgdir/etc/group"
	printf 'iglunix\n' >hostname
	install -Dm644 hostname "$pkgdir/etc/hostname"
}

backup() {
	print etc/passwd
	print etc/group
	print etc/hostname
	print etc/profile
}

license() {
	print "Iglunix base files, written for iglu: MIT"
}
