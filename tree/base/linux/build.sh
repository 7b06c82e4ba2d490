# Linux 6.1, the kernel of the QEMU guest: tinyconfig plus qemu.config, an EFI-stub
# bzImage with a built-in command line. Written for iglu in the Iglunix recipe format.
# Offline seeding uses Debian's repack of the 6.1.176 tarball (see tree/sources.seed.yaml).
pkgname=linux
pkgver=6.1.176
pkgrel=0
desc="Linux kernel for a QEMU guest (virtio, ext4, EFI stub)"
deps=""
mkdeps=""
bad="gmake"

fetch() {
	curl -L "https://cdn.kernel.org/pub/linux/kernel/v6.x/linux-$pkgver.tar.xz" -o "linux-$pkgver.tar.xz"
	tar -xf "linux-$pkgver.tar.xz"
}

# kbuild with LLVM: clang, ld.lld and the llvm tools, as on Iglunix (the kernel uses no C
# library). Its host programs (objtool, fixdep, kconfig) link the build root's own
# libraries (libelf), so HOSTCC is the build machine's compiler, build-cc.
kmake() {
	bad --gmake gmake ARCH=x86_64 LLVM=1 HOSTCC=build-cc HOSTCXX=build-c++ \
		KBUILD_BUILD_TIMESTAMP="@${SOURCE_DATE_EPOCH:-0}" \
		KBUILD_BUILD_USER=iglu KBUILD_BUILD_HOST=iglunix KBUILD_BUILD_VERSION=1 "$@"
}

build() {
	cd "linux-$pkgver"
	kmake tinyconfig
	scripts/kconfig/merge_config.sh -m .config "$recipedir/qemu.config"
	kmake olddefconfig
	# every option asked for must have survived olddefconfig
	missing=0
	while IFS= read -r line; do
		case $line in CONFIG_*) ;; *) continue ;; esac
		if ! grep -qxF -- "$line" .config; then
			echo "linux: $line did not survive olddefconfig (got: $(grep "^${line%%=*}=" .config || echo 'not set'))" >&2
			missing=1
		fi
	done <"$recipedir/qemu.config"
	[ $missing = 0 ]
	kmake bzImage
}

package() {
	cd "linux-$pkgver"
	install -Dm644 arch/x86/boot/bzImage "$pkgdir/boot/vmlinuz"
	install -Dm644 .config "$pkgdir/boot/config"
	install -Dm644 System.map "$pkgdir/boot/System.map"
}

license() {
	cd "linux-$pkgver"
	cat COPYING
}
