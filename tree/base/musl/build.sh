# musl, the C library of Iglunix. Written for iglu in the Iglunix recipe format.
pkgname=musl
pkgver=1.2.3
pkgrel=0
desc="musl C standard library"
deps=""
mkdeps=""
bad="gmake"

fetch() {
	curl -L "https://musl.libc.org/releases/musl-$pkgver.tar.gz" -o "$pkgname-$pkgver.tar.gz"
	tar -xf "$pkgname-$pkgver.tar.gz"
}

build() {
	cd "$pkgname-$pkgver"
	./configure \
		--prefix=/usr \
		--syslibdir=/lib \
		--disable-wrapper
	bad --gmake gmake
}

package() {
	cd "$pkgname-$pkgver"
	bad --gmake gmake DESTDIR="$pkgdir" install
	mkdir -p "$pkgdir/usr/bin"
	ln -sf /lib/ld-musl-$ARCH.so.1 "$pkgdir/usr/bin/ldd"
}

license() {
	cd "$pkgname-$pkgver"
	cat COPYRIGHT
}
