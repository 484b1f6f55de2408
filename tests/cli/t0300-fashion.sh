#!/bin/sh
# The shipped Fashion-MNIST model: adcnn's predictions on the first 300 test images (28x28
# images as a user has them, through adcnn-partition's own preprocessing) agree with
# PyTorch's on the same model (tests/data/fashion/pytorch-fdsp.txt, made by make_preds.py),
# unpartitioned and in fdsp 2x2, on at least 99.5% of them.
. "${top_srcdir:-.}/tests/cli/lib.sh"
DS=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
M="$SHARE/models/fashion-fdsp.onnx"
REF="$DATA/fashion/pytorch-fdsp.txt"
if [ ! -f "$DS/t10k-images-idx3-ubyte.gz" ]; then
	echo "skip: $DS not found (install dataset-fashion-mnist)"
	exit 77
fi
n=$(wc -l <"$REF")
gzip -dc "$DS/t10k-images-idx3-ubyte.gz" | tail -c +17 | head -c $((784 * n)) >"$TMP/images"
agree1=0 agree2=0 right=0
while read -r i label p1 p2; do
	{ printf 'P5\n28 28\n255\n'; dd if="$TMP/images" bs=784 skip="$i" count=1 2>/dev/null; } >"$TMP/x.pgm"
	a1=$(adcnn-partition -m "$M" -g 1x1 "$TMP/x.pgm" | adcnn-run -j 1 | adcnn-merge -m "$M" -k 1 - | cut -f1)
	a2=$(adcnn-partition -m "$M" -g 2x2 "$TMP/x.pgm" | adcnn-run -j 1 | adcnn-merge -m "$M" -k 1 - | cut -f1)
	[ "$a1" = "$p1" ] && agree1=$((agree1 + 1))
	[ "$a2" = "$p2" ] && agree2=$((agree2 + 1))
	[ "$a1" = "$label" ] && right=$((right + 1))
done <"$REF"
echo "fashion: $n images; adcnn agrees with PyTorch on $agree1 unpartitioned, $agree2 in fdsp 2x2; adcnn top-1 $right"
# at least 99.5%: 200 * agree >= 199 * n
if [ $((200 * agree1)) -ge $((199 * n)) ]; then pass; else fail "unpartitioned: adcnn agrees with PyTorch on $agree1 of $n"; fi
if [ $((200 * agree2)) -ge $((199 * n)) ]; then pass; else fail "fdsp 2x2: adcnn agrees with PyTorch on $agree2 of $n"; fi
# and the model is a trained one: far above chance
if [ $((100 * right)) -ge $((85 * n)) ]; then pass; else fail "top-1 $right of $n: not a trained model"; fi
finish
