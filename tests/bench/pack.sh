#!/bin/sh
# The pack benchmark (make bench): adcnn-pack on real activations of the test networks and
# the example model, against zstd -3 and lz4 on the float32 bytes; then the top-1 agreement
# of the final prediction with and without packing, per bit width, over a set of inputs.
set -eu
: "${top_srcdir:=.}" "${top_builddir:=.}"
PATH="$top_builddir:$PATH"
B="$top_builddir/tests/bench/pack-bench"
# programs older than the library would measure the code before it (make bench rebuilds
# them; running this script alone does not)
for p in "$B" "$top_builddir/adcnn-partition" "$top_builddir/adcnn-run" "$top_builddir/adcnn-pack" \
	"$top_builddir/adcnn-merge"; do
	if [ -n "$(find "$top_builddir/lib/libadcnn.la" -newer "$p" 2>/dev/null)" ]; then
		echo "pack.sh: $p is older than lib/libadcnn.la: make bench rebuilds it" >&2
		exit 1
	fi
done
D="$top_srcdir/tests/data/models"
S="$top_srcdir/share/adcnn"
T=$(mktemp -d "${TMPDIR:-/tmp}/adcnn-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
XDG_CACHE_HOME="$T/cache"
export XDG_CACHE_HOME
NOISE=${NOISE:-50}

echo "# adcnn-pack benchmark, $(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
echo
stitch() { # MODEL INPUT SPLIT OUT
	adcnn-partition -m "$1" -g 2x2 ${3:+--split "$3"} "$2" | adcnn-run -j 1 |
		adcnn-merge -m "$1" --stitched "$4" --output /dev/null -
}
set --
for m in resnet vgg mobilenet squeezenet detector; do
	stitch "$D/$m/model.onnx" "$D/$m/input.npy" "" "$T/$m-split.npy"
	set -- "$@" "$m/split=$T/$m-split.npy"
done
# earlier and larger activations: the first ReLU (ReLU6 for mobilenet, LeakyReLU for the detector)
stitch "$D/vgg/model.onnx" "$D/vgg/input.npy" /features/features.1/Relu_output_0 "$T/vgg-relu1.npy"
stitch "$D/resnet/model.onnx" "$D/resnet/input.npy" /features/features.0/features.0.2/Relu_output_0 "$T/resnet-relu1.npy"
stitch "$D/mobilenet/model.onnx" "$D/mobilenet/input.npy" /features/features.0/features.0.2/Clip_output_0 "$T/mobilenet-relu6.npy"
stitch "$D/detector/model.onnx" "$D/detector/input.npy" /features/features.0/features.0.2/LeakyRelu_output_0 "$T/detector-leaky1.npy"
set -- "$@" "vgg/relu1=$T/vgg-relu1.npy" "resnet/relu1=$T/resnet-relu1.npy" \
	"mobilenet/relu6=$T/mobilenet-relu6.npy" "detector/leaky1=$T/detector-leaky1.npy"
for f in "$S"/models/*.onnx; do
	name=$(basename "$f" .onnx)
	for img in "$S"/images/*.png; do
		stitch "$f" "$img" "" "$T/$name-$(basename "$img" .png).npy"
		set -- "$@" "$name/$(basename "$img" .png)=$T/$name-$(basename "$img" .png).npy"
		break
	done
done
# the 2x2 result bundles of the test networks, their tiles packed in turn (as adcnn-pack packs
# them, each tile's tensor with the zero point of its own range)
for m in resnet vgg mobilenet squeezenet detector; do
	adcnn-partition -m "$D/$m/model.onnx" -g 2x2 "$D/$m/input.npy" | adcnn-run -j 1 -o "$T/$m-tiles.adcnn"
	set -- "$@" "$m/tiles=$T/$m-tiles.adcnn"
done
# their tiles hold a few hundred values; tiles of the size a real network's grid makes: the
# larger activations cut 2x2, each tile packed with the zero point of its own range
for x in vgg/relu1 resnet/relu1 mobilenet/relu6 detector/leaky1; do
	set -- "$@" "$x/2x2=2x2:$T/$(echo "$x" | tr / -).npy"
done
"$B" ${QUICK:+--quick} "$@"

echo
echo "## Whole bundles (fdsp 2x2, 4 bits): what goes over the link"
echo
echo "The float32 result bundle, the packed one as written (a zstd-compressed tar), and the tar inside it."
echo
echo "| model | result bundle | packed bundle | ratio | the tar inside |"
echo "|---|---|---|---|---|"
wire() { # NAME MODEL INPUT
	adcnn-partition -m "$2" -g 2x2 "$3" | adcnn-run -j 1 -o "$T/w.res"
	adcnn-pack -o "$T/w.pk" "$T/w.res"
	r=$(wc -c <"$T/w.res")
	p=$(wc -c <"$T/w.pk")
	printf '| %s | %d | %d | %s | %d |\n' "$1" "$r" "$p" "$(awk "BEGIN { printf \"%.1f\", $r / $p }")" "$(zstd -dc "$T/w.pk" | wc -c)"
}
for m in resnet vgg mobilenet squeezenet detector; do
	wire "$m" "$D/$m/model.onnx" "$D/$m/input.npy"
done
for f in "$S"/models/*.onnx; do
	for img in "$S"/images/*.png; do
		wire "$(basename "$f" .onnx)" "$f" "$img"
		break
	done
done

echo
echo "## top-1 agreement with the unpacked pipeline (fdsp 2x2)"
echo
echo "| model | inputs | 2 bits | 4 bits | 8 bits |"
echo "|---|---|---|---|---|"
agree() { # MODEL INPUT...
	model=$1
	shift
	n=0 a2=0 a4=0 a8=0
	for x in "$@"; do
		adcnn-partition -m "$model" "$x" | adcnn-run > "$T/r"
		ref=$(adcnn-merge -m "$model" -k 1 "$T/r" | cut -f1)
		n=$((n + 1))
		for b in 2 4 8; do
			got=$(adcnn-pack -b $b "$T/r" | adcnn-merge -m "$model" -k 1 - | cut -f1)
			if [ "$got" = "$ref" ]; then eval "a$b=\$((a$b + 1))"; fi
		done
	done
	printf '| %s | %d | %d%% | %d%% | %d%% |\n' "$(basename "$(dirname "$model")")/$(basename "$model" .onnx)" "$n" \
		$((100 * a2 / n)) $((100 * a4 / n)) $((100 * a8 / n))
}
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	for m in resnet vgg mobilenet squeezenet; do
		/usr/bin/python3 -c "
import numpy as np, sys
rng = np.random.default_rng(1)
for i in range($NOISE):
    np.save('$T/in%03d.npy' % i, rng.standard_normal((1, 3, 128, 128)).astype(np.float32))"
		agree "$D/$m/model.onnx" "$T"/in*.npy
	done
else
	echo "(numpy missing: no random inputs for the test networks)"
fi
for f in "$S"/models/*.onnx; do
	agree "$f" "$S"/images/*.png
done
