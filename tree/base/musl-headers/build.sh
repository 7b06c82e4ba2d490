# musl's headers alone, the first package of the toolchain phase: compiler-rt's builtins
# include C library headers (emutls.c: pthread.h; cpu_model.c: assert.h), and musl's
# libc.so links against those builtins, so the headers come first, as in any bootstrap of
# a clang + musl toolchain. Installing them needs no compiler (musl's Makefile,
# install-headers). musl itself installs the same files later.
# Written for iglu in the Iglunix recipe format.
pkgname=musl-headers
pkgver=1.2.3
pkgrel=0
desc="musl C standard library headers (toolchain bootstrap)"
deps=""
mkdeps=""
bad="gmake"

fetch() {
	curl -L "https://musl.libc.org/releases/musl-$pkgver.tar.gz" -o "musl-$pkgver.tar.gz"
	tar -xf "musl-$pkgver.tar.gz"
}

build() {
	:
}

package() {
	cd "musl-$pkgver"
	bad --gmake gmake ARCH="$ARCH" prefix=/usr DESTDIR="$pkgdir" install-headers
}

license() {
	cd "musl-$pkgver"
	cat COPYRIGHT
}
