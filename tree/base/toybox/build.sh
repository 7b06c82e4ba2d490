# toybox, Iglunix's coreutils: its applets come first, busybox provides the rest (the
# busybox package drops every applet toybox has). Written for iglu in the Iglunix recipe
# format. Offline seeding uses Debian's repack (see tree/sources.seed.yaml).
pkgname=toybox
pkgver=0.8.9
pkgrel=0
desc="All-in-one Linux command line"
deps="musl"
mkdeps=""
bad="gmake"

fetch() {
	curl -L "https://landley.net/toybox/downloads/toybox-$pkgver.tar.gz" -o "toybox-$pkgver.tar.gz"
	tar -xf "toybox-$pkgver.tar.gz"
}

build() {
	cd "toybox-$pkgver"
	# HOSTCC builds toybox's generators: cc, aimed at musl, whose programs run in the build root
	CPUS=$JOBS bad --gmake gmake HOSTCC=cc defconfig
	CPUS=$JOBS bad --gmake gmake HOSTCC=cc
}

package() {
	cd "toybox-$pkgver"
	bad --gmake gmake HOSTCC=cc PREFIX="$pkgdir" install
	# LLVM provides readelf on Iglunix
	rm -f "$pkgdir/usr/bin/readelf"
}

license() {
	cd "toybox-$pkgver"
	cat LICENSE
}
