# musl, the C library of Iglunix. Written for iglu in the Iglunix recipe format.
pkgname=musl
pkgver=1.2.3
pkgrel=0
desc="musl C standard library"
deps=""
mkdeps="compiler-rt"
bad="gmake"

fetch() {
	curl -L "https://musl.libc.org/releases/musl-$pkgver.tar.gz" -o "$pkgname-$pkgver.tar.gz"
	tar -xf "$pkgname-$pkgver.tar.gz"
}

build() {
	cd "$pkgname-$pkgver"
	# libc.so's compiler runtime: compiler-rt's builtins (the toolchain phase installed
	# them into /sysroot), never GNU's libgcc
	for libcc in /sysroot/usr/lib/clang/*/lib/linux/libclang_rt.builtins-$ARCH.a; do :; done
	[ -f "$libcc" ] || fatal "no compiler-rt builtins in /sysroot (build compiler-rt first)"
	./configure \
		--prefix=/usr \
		--syslibdir=/lib \
		--disable-wrapper \
		LIBCC="$libcc"
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
