# busybox, dynamically linked against musl. Written for iglu in the Iglunix recipe format.
pkgname=busybox
pkgver=1.35.0
pkgrel=0
desc="Tiny versions of many common UNIX utilities"
deps="musl"
mkdeps=""
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
	install -Dm755 busybox "$pkgdir/bin/busybox"
}

license() {
	cd "$pkgname-$pkgver"
	cat LICENSE
}
