#!/bin/sh
# Cross-builds adcnn for aarch64 (Debian's crossbuild-essential-arm64 and the :arm64 -dev
# packages of every dependency), runs the unit tests and partition | run | pack | merge
# pipelines under qemu-user, and compares the results with those of the native build in this
# tree. Run as root, after `make check` has built the native tools. The cross build is of the
# committed tree (git archive HEAD). Usage: tests/cross/aarch64.sh
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${CROSS_DIR:-/tmp/adcnn-aarch64}
npass=0
nfail=0
ok() { npass=$((npass + 1)); }
ko() { nfail=$((nfail + 1)); echo "FAIL: $*"; }

if ! dpkg --print-foreign-architectures | grep -qx arm64 || ! command -v qemu-aarch64 >/dev/null ||
	! command -v aarch64-linux-gnu-gcc >/dev/null || ! dpkg -s libblis-dev:arm64 >/dev/null 2>&1; then
	dpkg --add-architecture arm64
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		crossbuild-essential-arm64 qemu-user \
		libarchive-dev:arm64 libblis-dev:arm64 libsodium-dev:arm64 libcmocka-dev:arm64 \
		libzstd-dev:arm64 libprotobuf-c-dev:arm64 libpng-dev:arm64 libjpeg62-turbo-dev:arm64 \
		liblz4-dev:arm64 >/dev/null
fi

rm -rf "$work"
mkdir -p "$work"
git -C "$src" archive HEAD | tar -x -C "$work"
cd "$work"
autoreconf -fi >/dev/null 2>&1
PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
	./configure -q --host=aarch64-linux-gnu
make -j"$(nproc)" >/dev/null
make -j"$(nproc)" check TESTS= >/dev/null
if file adcnn-run | grep -q 'ARM aarch64'; then ok; else ko "adcnn-run is not an aarch64 binary"; fi

for t in tests/unit/test_*; do
	case $t in *.c | *.o | *.log | *.trs) continue ;; esac
	[ -x "$t" ] || continue
	if top_srcdir="$work" qemu-aarch64 "$t" >"$t.qemu.log" 2>&1; then ok; else ko "$t under qemu" && tail -n 5 "$t.qemu.log"; fi
done

XDG_CACHE_HOME="$work/cache"
export XDG_CACHE_HOME
A="qemu-aarch64 $work"
X="$src"
cmp_npy() {
	if msg=$("$X/tests/util/testutil" cmp --rel "$3" "$1" "$2"); then ok; else ko "$4: $msg"; fi
}
pipeline() { # NAME MODEL INPUT MODE GRID
	$A/adcnn-partition -m "$2" --mode "$4" -g "$5" "$3" | $A/adcnn-run -j 2 | $A/adcnn-pack --lossless |
		$A/adcnn-merge -m "$2" --stitched "$work/a-s.npy" --output "$work/a-o.npy" - ||
		{ ko "$1: aarch64 pipeline failed"; return 0; }
	"$X/adcnn-partition" -m "$2" --mode "$4" -g "$5" "$3" | "$X/adcnn-run" -j 2 |
		"$X/adcnn-merge" -m "$2" --stitched "$work/x-s.npy" --output "$work/x-o.npy" - ||
		{ ko "$1: native pipeline failed"; return 0; }
	cmp_npy "$work/a-s.npy" "$work/x-s.npy" 1e-5 "$1: stitched"
	cmp_npy "$work/a-o.npy" "$work/x-o.npy" 1e-5 "$1: output"
}
pipeline example "$src/share/adcnn/models/example.onnx" "$src/share/adcnn/images/sample.png" fdsp 2x2
for m in resnet mobilenet detector; do
	pipeline "$m halo" "$src/tests/data/models/$m/model.onnx" "$src/tests/data/models/$m/input.npy" halo 3x3
done
# a bundle written on one host is read on the other, and packing gives the same bytes on both
"$X/adcnn-partition" -m "$src/share/adcnn/models/example.onnx" "$src/share/adcnn/images/sample.png" |
	$A/adcnn-run >"$work/r.adcnn"
$A/adcnn-pack "$work/r.adcnn" >"$work/a-p.adcnn"
"$X/adcnn-pack" "$work/r.adcnn" >"$work/x-p.adcnn"
if cmp -s "$work/a-p.adcnn" "$work/x-p.adcnn"; then ok; else ko "adcnn-pack: aarch64 and x86-64 bytes differ"; fi
$A/adcnn-pack --coder planes "$work/r.adcnn" >"$work/a-pp.adcnn"
"$X/adcnn-pack" --coder planes "$work/r.adcnn" >"$work/x-pp.adcnn"
if cmp -s "$work/a-pp.adcnn" "$work/x-pp.adcnn"; then ok; else ko "adcnn-pack --coder planes: aarch64 and x86-64 bytes differ"; fi
for b in 4 8; do
	$A/adcnn-pack --coder rans -b $b "$work/r.adcnn" >"$work/a-pr.adcnn"
	"$X/adcnn-pack" --coder rans -b $b "$work/r.adcnn" >"$work/x-pr.adcnn"
	if cmp -s "$work/a-pr.adcnn" "$work/x-pr.adcnn"; then ok; else ko "adcnn-pack --coder rans -b $b: aarch64 and x86-64 bytes differ"; fi
	if "$X/adcnn-merge" -m "$src/share/adcnn/models/example.onnx" -k 1 "$work/a-pr.adcnn" >/dev/null; then ok; else ko "native merge of aarch64 rans results"; fi
done
if "$X/adcnn-merge" -m "$src/share/adcnn/models/example.onnx" -k 1 "$work/a-p.adcnn" >/dev/null; then ok; else ko "native merge of aarch64 results"; fi

echo "aarch64: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
