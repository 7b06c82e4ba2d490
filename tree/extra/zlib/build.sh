# zlib, a compression library other packages link against. Written for iglu in the
# Iglunix recipe format. Offline seeding uses Debian's repack (see tree/sources.seed.yaml),
# which unpacks as zlib-$pkgver.dfsg: the glob below accepts both.
pkgname=zlib
pkgver=1.2.13
pkgrel=0
desc="Compression library implementing the deflate method"
deps="musl"
mkdeps=""

fetch() {
	curl -L "https://zlib.net/fossils/zlib-$pkgver.tar.gz" -o "zlib-$pkgver.tar.gz"
	tar -xf "zlib-$pkgver.tar.gz"
	[ -d "zlib-$pkgver" ] || for d in zlib-$pkgver.*/; do mv "${d%/}" "zlib-$pkgver"; done
}

build() {
	cd "zlib-$pkgver"
	./configure --prefix=/usr
	make
}

package() {
	cd "zlib-$pkgver"
	make DESTDIR="$pkgdir" install
}

license() {
	cd "zlib-$pkgver"
	sed -n '/Copyright/,/madler/p' zlib.h
}
