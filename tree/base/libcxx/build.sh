# LLVM's C++ runtimes for the Iglunix target: libc++ (the C++ standard library), libc++abi
# (its ABI layer: exceptions, RTTI) and libunwind (the unwinder exceptions go through),
# on musl and compiler-rt with nothing from GNU (no libgcc, libgcc_s or libstdc++).
# Iglunix's llvm recipe builds them as LLVM runtimes with the same settings: libc++abi and
# libunwind are linked statically into libc++.so.1, so a C++ program needs only libc++.so.1
# and libc.so; libunwind.so.1 is also installed for C programs that unwind.
# Built in the toolchain phase after musl (libc++.so links against libc.so and the
# builtins), from the same LLVM source as compiler-rt: the runtimes directory, the three
# projects without their tests, and LLVM's CMake modules.
# Written for iglu in the Iglunix recipe format.
pkgname=libcxx
pkgver=14.0.6
pkgrel=0
desc="LLVM C++ runtimes: libc++, libc++abi and libunwind"
deps="musl"
mkdeps="musl-headers compiler-rt"
# the names Iglunix's recipes ask for (its llvm recipe's subpackages): here each is the
# whole of this package, which a build's sysroot then holds
subpkgs="libcxx-dev libunwind libunwind-dev"

fetch() {
	curl -L "https://github.com/llvm/llvm-project/releases/download/llvmorg-$pkgver/llvm-project-$pkgver.src.tar.xz" -o "llvm-project-$pkgver.tar.xz"
	top=$(tar -tf "llvm-project-$pkgver.tar.xz" | sed -n '1{s,/.*,,;p;q;}')
	[ -n "$top" ] || fatal "llvm-project-$pkgver.tar.xz: no top directory"
	mkdir llvm
	tar -xf "llvm-project-$pkgver.tar.xz" -C llvm --strip-components=1 \
		--exclude="$top/libcxx/test" --exclude="$top/libcxxabi/test" --exclude="$top/libunwind/test" \
		--exclude="$top/libcxx/benchmarks" --exclude="$top/libcxx/docs" \
		"$top/runtimes" "$top/libcxx" "$top/libcxxabi" "$top/libunwind" "$top/cmake" "$top/llvm/cmake" "$top/llvm/utils/llvm-lit"
	rm "llvm-project-$pkgver.tar.xz"
}

build() {
	mkdir -p build
	cd build
	# there is no C++ library to link a test program with yet: CMake must not try. CMake's
	# merge of the static libraries takes Python's distutils, which the farm image lacks:
	# package() merges them with llvm-ar instead.
	cmake -G Ninja ../llvm/runtimes \
		-DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_INSTALL_PREFIX=/usr \
		-DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_ASM_COMPILER="$CC" \
		-DCMAKE_C_COMPILER_TARGET="$TRIPLE" -DCMAKE_CXX_COMPILER_TARGET="$TRIPLE" -DCMAKE_ASM_COMPILER_TARGET="$TRIPLE" \
		-DCMAKE_CXX_COMPILER_WORKS=ON \
		-DCMAKE_POSITION_INDEPENDENT_CODE=ON \
		-DLLVM_ENABLE_RUNTIMES="libunwind;libcxxabi;libcxx" \
		-DLLVM_DEFAULT_TARGET_TRIPLE="$TRIPLE" \
		-DLLVM_INCLUDE_TESTS=OFF -DLLVM_INCLUDE_DOCS=OFF -DLIBCXX_INCLUDE_BENCHMARKS=OFF \
		-DLIBCXX_HAS_MUSL_LIBC=ON \
		-DLIBCXX_USE_COMPILER_RT=ON -DLIBCXXABI_USE_COMPILER_RT=ON -DLIBUNWIND_USE_COMPILER_RT=ON \
		-DLIBCXXABI_USE_LLVM_UNWINDER=ON \
		-DLIBCXXABI_ENABLE_STATIC_UNWINDER=ON \
		-DLIBCXXABI_STATICALLY_LINK_UNWINDER_IN_SHARED_LIBRARY=ON \
		-DLIBCXXABI_ENABLE_SHARED=OFF \
		-DLIBCXX_ENABLE_STATIC_ABI_LIBRARY=ON \
		-DLIBCXX_STATICALLY_LINK_ABI_IN_SHARED_LIBRARY=ON \
		-DLIBCXX_STATICALLY_LINK_ABI_IN_STATIC_LIBRARY=OFF \
		-DLIBCXXABI_STATICALLY_LINK_UNWINDER_IN_STATIC_LIBRARY=OFF \
		-DLIBUNWIND_ENABLE_SHARED=ON
	ninja -j"$JOBS"
}

package() {
	cd build
	DESTDIR="$pkgdir" ninja install
	# libc++.a holds libc++abi and libunwind too, as Iglunix's (LIBCXX_STATICALLY_LINK_ABI_IN_STATIC_LIBRARY,
	# LIBCXXABI_STATICALLY_LINK_UNWINDER_IN_STATIC_LIBRARY): -static-libstdc++ links with libc++.a
	# alone, as llvm's LLVM_STATIC_LINK_CXX_STDLIB does
	cd "$pkgdir/usr/lib"
	ar qcL libc++.a libc++abi.a libunwind.a
	ar s libc++.a
}

libcxx-dev() { deps="libcxx"; }
libunwind() { deps="libcxx"; }
libunwind-dev() { deps="libcxx"; }

license() {
	cat llvm/libcxx/LICENSE.TXT
}
