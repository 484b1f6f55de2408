#!/bin/sh
# The accuracy experiment (make accuracy): the adcnn tools themselves, not PyTorch, over
# Fashion-MNIST's test set (Debian's dataset-fashion-mnist), for the models that
# share/adcnn/train/train.py makes. Prints a Markdown table: top-1 accuracy unpartitioned,
# fdsp 2x2/3x3/4x4 with the plain and the fine-tuned models (fashion-fdsp, BatchNorm
# statistics of the 2x2 grid; fashion-fdsp4x4, fine-tuned further on 4x4), halo mode (which
# must equal unpartitioned), fdsp with adcnn-pack at 2, 4 and 8 bits, and fdsp 4x4 with a
# tile missing.
# Usage: fashion.sh [N]  (the first N test images; default all 10000). JOBS sets parallelism.
set -eu
: "${top_srcdir:=.}" "${top_builddir:=.}"
PATH="$top_builddir:$PATH"
N=${1:-10000}
JOBS=${JOBS:-$(nproc)}
DS=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
MODELS="$top_srcdir/share/adcnn/models"
PLAIN="$MODELS/fashion.onnx"
FT="$MODELS/fashion-fdsp.onnx"
FT4="$MODELS/fashion-fdsp4x4.onnx"
for f in "$PLAIN" "$FT" "$FT4" "$DS/t10k-images-idx3-ubyte.gz"; do
	[ -f "$f" ] || { echo "fashion.sh: '$f' missing" >&2; exit 66; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/adcnn-accuracy.XXXXXX")
trap 'rm -rf "$T"' EXIT
XDG_CACHE_HOME="$T/cache"
export XDG_CACHE_HOME PLAIN FT FT4 T

# the test images as 28x28 PGM files, as a user would have them, and their labels
/usr/bin/python3 - "$DS" "$T" "$N" <<'PY'
import gzip, sys
ds, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
img = gzip.open(ds + '/t10k-images-idx3-ubyte.gz').read()[16:]
lab = gzip.open(ds + '/t10k-labels-idx1-ubyte.gz').read()[8:]
with open(out + '/labels', 'w') as f:
    for i in range(n):
        open('%s/%05d.pgm' % (out, i), 'wb').write(b'P5\n28 28\n255\n' + img[784 * i:784 * (i + 1)])
        f.write('%05d %d\n' % (i, lab[i]))
PY

# one image: every configuration; prints "ID CONFIG PREDICTED"
cat >"$T/one.sh" <<'ONE'
set -u
id=$1
img="$T/$id.pgm"
w="$T/w$id"
mkdir -p "$w"
top() { cut -f1 | head -n 1; }
for cfg in "plain 1x1 fdsp $PLAIN" "plain 2x2 fdsp $PLAIN" "plain 3x3 fdsp $PLAIN" "plain 4x4 fdsp $PLAIN" \
	"plain 4x4 halo $PLAIN" "ft 1x1 fdsp $FT" "ft 2x2 fdsp $FT" "ft 3x3 fdsp $FT" "ft 4x4 fdsp $FT" \
	"ft4 1x1 fdsp $FT4" "ft4 2x2 fdsp $FT4" "ft4 3x3 fdsp $FT4" "ft4 4x4 fdsp $FT4"; do
	set -- $cfg
	r="$w/$1-$2-$3"
	adcnn-partition -m "$4" -g "$2" --mode "$3" "$img" | adcnn-run -j 1 >"$r"
	echo "$id $1/$3/$2 $(adcnn-merge -m "$4" -k 1 "$r" | top)"
done
for b in 2 4 8; do
	echo "$id ft/fdsp/2x2/pack$b $(adcnn-pack -b $b "$w/ft-2x2-fdsp" | adcnn-merge -m "$FT" -k 1 - | top)"
	echo "$id plain/fdsp/2x2/pack$b $(adcnn-pack -b $b "$w/plain-2x2-fdsp" | adcnn-merge -m "$PLAIN" -k 1 - | top)"
done
# a node lost: the 4x4 grid fanned out one bundle per tile (-O), every tile run but r1c1,
# an inner one, and merged with --allow-missing
for m in plain ft ft4; do
	model=$PLAIN
	[ $m = ft ] && model=$FT
	[ $m = ft4 ] && model=$FT4
	adcnn-partition -m "$model" -g 4x4 -O "$w/fan-$m" "$img"
	rm "$w/fan-$m/r1c1.adcnn"
	cat "$w/fan-$m"/*.adcnn | adcnn-run -j 1 >"$w/fan-$m.res"
	echo "$id $m/fdsp/4x4/missing-r1c1 $(adcnn-merge -m "$model" -k 1 --allow-missing "$w/fan-$m.res" 2>/dev/null | top)"
done
rm -rf "$w"
ONE

cut -d' ' -f1 "$T/labels" | xargs -P "$JOBS" -n 1 sh "$T/one.sh" >"$T/preds"

# the table
awk -v n="$N" -v date="$(date -u +%Y-%m-%d)" '
FNR == NR { label[$1] = $2; next }
{ total[$2]++; if ($3 == label[$1]) ok[$2]++; pred[$2, $1] = $3 }
END {
	printf "Fashion-MNIST test set, %d images, adcnn tools, %s\n\n", n, date
	printf "| model | mode | grid | packing / tiles | top-1 |\n|---|---|---|---|---|\n"
	m = split("plain/fdsp/1x1 plain/fdsp/2x2 plain/fdsp/3x3 plain/fdsp/4x4 plain/halo/4x4 " \
	          "ft/fdsp/1x1 ft/fdsp/2x2 ft/fdsp/3x3 ft/fdsp/4x4 " \
	          "ft4/fdsp/1x1 ft4/fdsp/2x2 ft4/fdsp/3x3 ft4/fdsp/4x4 " \
	          "plain/fdsp/2x2/pack8 plain/fdsp/2x2/pack4 plain/fdsp/2x2/pack2 " \
	          "ft/fdsp/2x2/pack8 ft/fdsp/2x2/pack4 ft/fdsp/2x2/pack2 " \
	          "plain/fdsp/4x4/missing-r1c1 ft/fdsp/4x4/missing-r1c1 ft4/fdsp/4x4/missing-r1c1", cfg, " ")
	name["plain"] = "fashion (plain)"; name["ft"] = "fashion-fdsp"; name["ft4"] = "fashion-fdsp4x4"
	for (i = 1; i <= m; i++) {
		c = cfg[i]
		split(c, p, "/")
		what = p[4] == "" ? "float32" : p[4] ~ /^pack/ ? "adcnn-pack -b " substr(p[4], 5) : "r1c1 missing"
		if (p[2] == "fdsp" && p[3] == "1x1") mode = "unpartitioned"; else mode = p[2]
		printf "| %s | %s | %s | %s | %.2f%% |\n", name[p[1]], mode, p[3], what, total[c] ? 100 * ok[c] / total[c] : 0
	}
	same = 0
	for (id in label) if (pred["plain/halo/4x4", id] == pred["plain/fdsp/1x1", id]) same++
	printf "\nhalo 4x4 agrees with unpartitioned on %d of %d images.\n", same, n
	for (b = 2; b <= 8; b *= 2) {
		same = 0
		for (id in label) if (pred["ft/fdsp/2x2/pack" b, id] == pred["ft/fdsp/2x2", id]) same++
		printf "fashion-fdsp, fdsp 2x2: adcnn-pack -b %d agrees with float32 on %.2f%% of images.\n", b, 100 * same / n
	}
}' "$T/labels" "$T/preds"
