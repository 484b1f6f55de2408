#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) in a build tree of their own and
# runs each for SECONDS (default 60), seeded from the test data. Needs clang and
# libclang-rt-14-dev. Usage: tests/fuzz/run.sh [SECONDS]
set -eu
secs=${1:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=${FUZZ_DIR:-/tmp/adcnn-fuzz}
mkdir -p "$work/build"
cd "$work/build"
if [ ! -f Makefile ]; then
	git -C "$src" archive --format=tar HEAD | tar -xf -
	autoreconf -fi >/dev/null
	./configure -q CC=clang CFLAGS="-g -O1 -fsanitize=address,undefined,fuzzer-no-link"
fi
make -j2 lib/libadcnn.la >/dev/null
XDG_CACHE_HOME="$work/cache"
export XDG_CACHE_HOME
ex="$src/share/adcnn"
seed() {
	mkdir -p "$work/seed/$1"
	case $1 in
	bundle)
		./adcnn-partition -m "$ex/models/example.onnx" --embed-model -o "$work/seed/bundle/tiles" "$ex/images/sample.png" 2>/dev/null ||
			"$src/adcnn-partition" -m "$ex/models/example.onnx" --embed-model -o "$work/seed/bundle/tiles" "$ex/images/sample.png" ;;
	tensor)
		cp "$src"/tests/data/models/detector/ref_split.npy "$work/seed/tensor/"
		# packed members, of each coder; rANS at each of its paths: 4 bits and fewer, and
		# more (the raw bits), of a ReLU's codes and of a signed tensor's (the detector's);
		# and lossless ones.
		# Each model's results are made once and packed at every setting.
		det="$src/tests/data/models/detector"
		"$src/adcnn-partition" -m "$ex/models/example.onnx" "$ex/images/sample.png" | "$src/adcnn-run" >"$work/seed/example.adcnn"
		"$src/adcnn-partition" -m "$det/model.onnx" "$det/input.npy" | "$src/adcnn-run" >"$work/seed/detector.adcnn"
		member() { # NAME RESULTS PACK-OPTIONS...: results/r0c0.t of the packed bundle into NAME.t
			name=$1 res=$2
			shift 2
			"$src/adcnn-pack" "$@" "$res" | zstd -dc | tar -xOf - results/r0c0.t >"$work/seed/tensor/$name.t"
		}
		for c in planes rans; do
			member "r0c0-$c" "$work/seed/example.adcnn" -b 6 --coder $c
		done
		for b in 2 4 8; do
			member "r0c0-rans$b" "$work/seed/example.adcnn" -b $b
			member "detector-rans$b" "$work/seed/detector.adcnn" -b $b
		done
		# lossless: exponents by rANS (encoding 4) and byte planes (encoding 2)
		for c in rans planes; do
			member "r0c0-lossless-$c" "$work/seed/example.adcnn" --lossless --coder $c
			member "detector-lossless-$c" "$work/seed/detector.adcnn" --lossless --coder $c
		done ;;
	model) cp "$ex/models/example.onnx" "$work/seed/model/" ;;
	input) cp "$ex/images/sample.png" "$src/tests/data/models/vgg/input.npy" "$work/seed/input/" ;;
	esac
}
for t in bundle tensor model input; do
	clang -g -O1 -fsanitize=address,undefined,fuzzer -DFUZZ_$(echo $t | tr a-z A-Z) \
		-I. -Ilib -I"$src/lib" "$src/tests/fuzz/fuzz.c" lib/.libs/libadcnn.a \
		$(pkg-config --libs libarchive libsodium libzstd libprotobuf-c libpng) -lblis -ljpeg -lm -lpthread \
		-o "fuzz-$t"
	seed $t
	mkdir -p "$work/corpus/$t"
	echo "fuzz $t: $secs s"
	FUZZ_MODEL_PATH="$ex/models/example.onnx" ./fuzz-$t -max_total_time="$secs" -rss_limit_mb=4096 \
		-print_final_stats=1 "$work/corpus/$t" "$work/seed/$t" 2>&1 | tail -n 12
done
