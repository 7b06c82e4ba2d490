# zstd, the compression Iglunix's packages use (iglupkg packs .tar.zst). Written for iglu
# in the Iglunix recipe format. Offline seeding uses Debian's repack (see
# tree/sources.seed.yaml).
pkgname=zstd
pkgver=1.5.4
pkgrel=0
desc="Zstandard compression: the zstd program and libzstd"
deps="musl"
mkdeps=""
bad="gmake"
shlibs="libzstd.so.1"

fetch() {
	curl -L "https://github.com/facebook/zstd/releases/download/v$pkgver/zstd-$pkgver.tar.gz" -o "zstd-$pkgver.tar.gz"
	tar -xf "zstd-$pkgver.tar.gz"
}

build() {
	cd "zstd-$pkgver"
	bad --gmake gmake -j"$JOBS" PREFIX=/usr lib-release zstd-release
}

package() {
	cd "zstd-$pkgver"
	bad --gmake gmake -C lib PREFIX=/usr DESTDIR="$pkgdir" install-shared install-includes install-pc
	bad --gmake gmake -C programs PREFIX=/usr DESTDIR="$pkgdir" install
}

license() {
	cd "zstd-$pkgver"
	cat LICENSE
}
