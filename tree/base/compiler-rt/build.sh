# compiler-rt for the Iglunix target: the builtins library and the crt objects clang
# links instead of GNU's libgcc and crtbegin.o. Iglunix's llvm recipe builds them as one
# of LLVM's runtimes; here the toolchain phase builds them before musl (whose libc.so
# links against the builtins), from the compiler-rt part of LLVM's source tree. They
# compile against musl's headers (musl-headers, in /sysroot) but link nothing: there is
# no C library for the target yet.
# Written for iglu in the Iglunix recipe format.
pkgname=compiler-rt
pkgver=14.0.6
pkgrel=0
desc="LLVM compiler runtime: builtins and crt objects"
deps=""
mkdeps="musl-headers"
# the name Iglunix's recipes ask for (its llvm recipe's subpackage): here the whole of
# this package, which a build's sysroot then holds
subpkgs="libclang-rt-dev"

fetch() {
	curl -L "https://github.com/llvm/llvm-project/releases/download/llvmorg-$pkgver/llvm-project-$pkgver.src.tar.xz" -o "llvm-project-$pkgver.tar.xz"
	# only compiler-rt (without its tests) and LLVM's shared CMake modules: 15 MiB of
	# the tree's 1.2 GiB. The top directory differs between upstream and Debian's repack.
	top=$(tar -tf "llvm-project-$pkgver.tar.xz" | sed -n '1{s,/.*,,;p;q;}')
	[ -n "$top" ] || fatal "llvm-project-$pkgver.tar.xz: no top directory"
	mkdir llvm
	tar -xf "llvm-project-$pkgver.tar.xz" -C llvm --strip-components=1 \
		--exclude="$top/compiler-rt/test" "$top/compiler-rt" "$top/cmake" "$top/llvm/cmake"
	rm "llvm-project-$pkgver.tar.xz"
}

build() {
	mkdir -p build
	cd build
	# nothing can link for the target yet (no C library): CMake's checks only compile
	# (a static library as try_compile's target), and it must not test the compiler by linking
	cmake -G Ninja ../llvm/compiler-rt \
		-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY \
		-DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_ASM_COMPILER="$CC" \
		-DCMAKE_C_COMPILER_TARGET="$TRIPLE" -DCMAKE_CXX_COMPILER_TARGET="$TRIPLE" -DCMAKE_ASM_COMPILER_TARGET="$TRIPLE" \
		-DCMAKE_C_COMPILER_WORKS=ON -DCMAKE_CXX_COMPILER_WORKS=ON \
		-DCOMPILER_RT_DEFAULT_TARGET_ONLY=ON \
		-DCOMPILER_RT_BUILD_BUILTINS=ON \
		-DCOMPILER_RT_BUILD_CRT=ON \
		-DCOMPILER_RT_BUILD_SANITIZERS=OFF \
		-DCOMPILER_RT_BUILD_XRAY=OFF \
		-DCOMPILER_RT_BUILD_LIBFUZZER=OFF \
		-DCOMPILER_RT_BUILD_PROFILE=OFF \
		-DCOMPILER_RT_BUILD_MEMPROF=OFF \
		-DCOMPILER_RT_BUILD_ORC=OFF \
		-DCOMPILER_RT_INCLUDE_TESTS=OFF \
		-DCOMPILER_RT_INSTALL_PATH="/usr/lib/clang/$pkgver"
	ninja -j"$JOBS"
}

package() {
	cd build
	DESTDIR="$pkgdir" ninja install
}

libclang-rt-dev() { deps="compiler-rt"; }

license() {
	cat llvm/compiler-rt/LICENSE.TXT
}
