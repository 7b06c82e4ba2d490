# mksh, Iglunix's /bin/sh. Written for iglu in the Iglunix recipe format.
pkgname=mksh
pkgver=R59c
pkgrel=0
desc="MirBSD Korn Shell"
deps="musl"
mkdeps=""

fetch() {
	curl -L "http://www.mirbsd.org/MirOS/dist/mir/mksh/mksh-$pkgver.tgz" -o "mksh-$pkgver.tgz"
	tar -xf "mksh-$pkgver.tgz"
}

build() {
	cd mksh
	sh ./Build.sh -r
}

package() {
	cd mksh
	install -Dm755 mksh "$pkgdir/bin/mksh"
	install -Dm644 mksh.1 "$pkgdir/usr/share/man/man1/mksh.1"
	ln -sf mksh "$pkgdir/bin/sh"
}

license() {
	cd mksh
	sed -n '/Copyright/,/damage/p' sh.h
}
