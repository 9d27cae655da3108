#!/usr/bin/env bash
# The installed-package test (ctest `package`): installs the build tree BUILD into a temporary
# prefix, then builds tests/package/consumer.cpp against it twice — with CMake's
# find_package(libcert CONFIG) and with pkg-config — and runs both: each issues a licence that
# libcert verifies VALID, and pdfsig (poppler, an independent verifier) checks the seal.
#
#   tests/package/run.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
# The relocatable components (cmake/packaging.cmake): the library package and the binaries with
# /usr/share/certd; certd_system holds absolute /etc paths for the Debian package only.
for component in dev certd_bin; do
  cmake --install "$build" --prefix "$prefix" --component "$component" >/dev/null
done
keys=$src/keys-example templates=$src/templates
# The trust data a verifier needs (key states), from the installed certctl.
"$prefix/bin/certctl" trust-bundle export --keys "$keys" --templates "$templates" --version 1 \
  -o "$work/bundle.cose" >/dev/null

# 1. CMake: find_package(libcert CONFIG) with nothing but the prefix.
cmake -S "$src/tests/package" -B "$work/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake-build" >/dev/null
"$work/cmake-build/consumer" "$templates" "$keys" "$work/bundle.cose" "$work/cmake.pdf"

# 2. pkg-config: the .pc file alone gives the flags (static library: --static).
pcdir=$(dirname "$(find "$prefix" -name libcert.pc | head -1)")
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --static --cflags --libs libcert)
g++ -std=c++20 -O1 -o "$work/pc-consumer" "$src/tests/package/consumer.cpp" $flags
"$work/pc-consumer" "$templates" "$keys" "$work/bundle.cose" "$work/pc.pdf"
echo "package: pkg-config libcert --modversion: $(PKG_CONFIG_PATH=$pcdir pkg-config --modversion libcert)"

# 3. An independent verifier on what the consumers issued.
nss=$work/nss
mkdir -p "$nss"
certutil -N -d "sql:$nss" --empty-password
certutil -A -d "sql:$nss" -n root -t "C,C,C" -i "$keys/root/root.crt"
for f in "$work/cmake.pdf" "$work/pc.pdf"; do
  out=$(pdfsig -nssdir "sql:$nss" "$f")
  grep -q "Signature is Valid." <<<"$out" || { echo "package: pdfsig: $out"; exit 1; }
  grep -q "Certificate is Trusted." <<<"$out" || { echo "package: pdfsig: $out"; exit 1; }
done
echo "package: CMake and pkg-config consumers issued VALID licences; pdfsig: Signature is Valid, Certificate is Trusted"
