# busybox, dynamically linked against musl. Iglunix takes its coreutils from toybox first:
# this package keeps only the applets toybox does not provide, and leaves /bin/sh to mksh.
# Written for iglu in the Iglunix recipe format.
pkgname=busybox
pkgver=1.35.0
pkgrel=0
desc="Tiny versions of many common UNIX utilities"
deps="musl"
mkdeps="toybox"
bad="gmake"

fetch() {
	curl -L "https://busybox.net/downloads/busybox-$pkgver.tar.bz2" -o "busybox-$pkgver.tar.bz2"
	tar -xf "busybox-$pkgver.tar.bz2"
}

build() {
	cd "$pkgname-$pkgver"
	bad --gmake gmake CC="$CC" HOSTCC="$CC" defconfig
	bad --gmake gmake CC="$CC" HOSTCC="$CC"
}

package() {
	cd "$pkgname-$pkgver"
	bad --gmake gmake CC="$CC" HOSTCC="$CC" CONFIG_PREFIX="$pkgdir" install
	rm -f "$pkgdir/linuxrc" "$pkgdir/bin/sh"
	# the files of the installed toybox package (its iglupkg record, [fs] section)
	toybox_files=/sysroot/usr/share/iglupkg/toybox
	[ -f "$toybox_files" ] || fatal "toybox is not installed in /sysroot: build it first"
	sed -n '/^\[fs\]$/,$p' "$toybox_files" | while read -r f; do
		if [ -L "$pkgdir/$f" ]; then rm "$pkgdir/$f"; fi
	done
}

license() {
	cd "$pkgname-$pkgver"
	cat LICENSE
}
