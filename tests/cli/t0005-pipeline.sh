#!/bin/sh
# The four tools together, as adcnn(7) shows them: one pipe, packed or not, for the example and
# every test model; fan-out to one bundle per tile run separately; results as a stream.
. "${top_srcdir:-.}/tests/cli/lib.sh"
M="$SHARE/models/example.onnx"
IMG="$SHARE/images/sample.png"
LABELS="$SHARE/labels.txt"

# The example, on one host
check 'example: partition | run | merge' 0 "adcnn-partition -m '$M' '$IMG' | adcnn-run | adcnn-merge -m '$M' --labels '$LABELS' -"
expect_empty_err 'example: partition | run | merge'
cp "$TMP/out" "$TMP/top"
if [ "$(wc -l <"$TMP/top")" -eq 5 ]; then pass; else fail 'example: not 5 classes' "$(cat "$TMP/top")"; fi
check 'example: partition | run | pack --lossless | merge' 0 "adcnn-partition -m '$M' '$IMG' | adcnn-run | adcnn-pack --lossless | adcnn-merge -m '$M' --labels '$LABELS' -"
expect_empty_err 'example: partition | run | pack --lossless | merge'
same 'example: packed pipeline = unpacked pipeline' "$TMP/out" "$TMP/top"
check 'example: partition | run | pack | pack -d | merge' 0 "adcnn-partition -m '$M' '$IMG' | adcnn-run | adcnn-pack --lossless -L 19 | adcnn-pack -d | adcnn-merge -m '$M' --labels '$LABELS'"
same 'example: pack | pack -d pipeline = unpacked pipeline' "$TMP/out" "$TMP/top"
# quantized (4 bits, the default): the same classes in the same order
check 'example: partition | run | pack | merge' 0 "adcnn-partition -m '$M' '$IMG' | adcnn-run | adcnn-pack | adcnn-merge -m '$M' --labels '$LABELS' -"
if [ "$(cut -f1 "$TMP/out" | head -n 1)" = "$(cut -f1 "$TMP/top" | head -n 1)" ]; then pass; else fail 'example: 4 bits changed the top class' "$(cat "$TMP/out")"; fi
# a node with an empty cache gets the prefix from the bundle (ssh n1 'adcnn-run | adcnn-pack')
check 'example: --embed-model to a node with no cache' 0 "adcnn-partition -m '$M' --embed-model '$IMG' | XDG_CACHE_HOME='$TMP/node' sh -c 'adcnn-run | adcnn-pack --lossless' | adcnn-merge -m '$M' --labels '$LABELS' -"
same 'example: --embed-model pipeline = local pipeline' "$TMP/out" "$TMP/top"
# halo mode on a 3x3 grid equals the unpartitioned (1x1) inference
check 'example: halo 3x3, packed' 0 "adcnn-partition -m '$M' --mode halo -g 3x3 '$IMG' | adcnn-run | adcnn-pack --lossless | adcnn-merge -m '$M' --stitched '$TMP/halo.npy' --output '$TMP/halo-out.npy' -"
check 'example: 1x1' 0 "adcnn-partition -m '$M' -g 1x1 '$IMG' | adcnn-run | adcnn-merge -m '$M' --stitched '$TMP/whole.npy' --output '$TMP/whole-out.npy' -"
if msg=$(testutil cmp --rel 1e-4 "$TMP/halo.npy" "$TMP/whole.npy"); then pass; else fail "example: halo 3x3 stitched != 1x1: $msg"; fi
if msg=$(testutil cmp --rel 1e-4 "$TMP/whole-out.npy" "$SHARE/images/sample_logits.npy"); then pass; else fail "example: 1x1 logits: $msg"; fi

# Every test model, packed and not: the same output tensor, to the bit, with --lossless;
# the same top class at 4 bits (the default)
for m in resnet vgg mobilenet squeezenet detector; do
	d="$DATA/models/$m"
	for mode in fdsp halo; do
		t="$m $mode"
		check "$t: unpacked" 0 "adcnn-partition -m '$d/model.onnx' --mode $mode -g 2x2 '$d/input.npy' | adcnn-run | adcnn-merge -m '$d/model.onnx' --output '$TMP/$m-$mode-raw.npy' -"
		check "$t: packed" 0 "adcnn-partition -m '$d/model.onnx' --mode $mode -g 2x2 '$d/input.npy' | adcnn-run | adcnn-pack --lossless | adcnn-merge -m '$d/model.onnx' --output '$TMP/$m-$mode-packed.npy' -"
		expect_empty_err "$t: packed"
		same "$t: packed output = unpacked output" "$TMP/$m-$mode-packed.npy" "$TMP/$m-$mode-raw.npy"
	done
	if msg=$(testutil cmp --rel 1e-4 "$TMP/$m-halo-packed.npy" "$d/ref_out.npy"); then pass; else fail "$m halo packed: $msg"; fi
	if [ "$m" != detector ]; then
		# a classifier: the same top classes, packed or not
		check "$m: top-k unpacked" 0 "adcnn-partition -m '$d/model.onnx' '$d/input.npy' | adcnn-run | adcnn-merge -m '$d/model.onnx' -"
		cp "$TMP/out" "$TMP/$m-top"
		if [ "$(wc -l <"$TMP/$m-top")" -eq 5 ]; then pass; else fail "$m: not 5 classes" "$(cat "$TMP/$m-top")"; fi
		check "$m: top-k packed" 0 "adcnn-partition -m '$d/model.onnx' '$d/input.npy' | adcnn-run | adcnn-pack --lossless | adcnn-merge -m '$d/model.onnx' -"
		same "$m: packed top-k = unpacked top-k" "$TMP/out" "$TMP/$m-top"
		for b in 8 4; do
			check "$m: top-k at $b bits" 0 "adcnn-partition -m '$d/model.onnx' '$d/input.npy' | adcnn-run | adcnn-pack -b $b | adcnn-merge -m '$d/model.onnx' -"
			if [ "$(head -n 1 "$TMP/out" | cut -f1)" = "$(head -n 1 "$TMP/$m-top" | cut -f1)" ]; then pass; else fail "$m: $b bits changed the top class" "$(cat "$TMP/out")"; fi
		done
	fi
done

# Fan-out: one bundle per tile, each run on its own (as on another node), merged from files
check 'fan-out: partition -O' 0 "adcnn-partition -m '$M' --embed-model -g 2x2 -O '$TMP/tiles' '$IMG'"
n=0
for f in "$TMP"/tiles/*.adcnn; do
	b=${f%.adcnn}
	id=${b##*/}
	check "fan-out: run $id on a fresh node" 0 "XDG_CACHE_HOME='$TMP/node-$id' adcnn-run -o '$b.raw' '$f'"
	check "fan-out: run | pack -o $id" 0 "XDG_CACHE_HOME='$TMP/node-$id' adcnn-run '$f' | adcnn-pack --lossless -o '$b.res'"
	n=$((n + 1))
done
if [ "$n" -eq 4 ]; then pass; else fail "fan-out: $n tile bundles, not 4"; fi
check 'fan-out: merge packed results' 0 "adcnn-merge -m '$M' --labels '$LABELS' '$TMP'/tiles/*.res"
same 'fan-out: packed = one-bundle pipeline' "$TMP/out" "$TMP/top"
check 'fan-out: merge raw results' 0 "adcnn-merge -m '$M' --labels '$LABELS' '$TMP'/tiles/*.raw"
same 'fan-out: raw = one-bundle pipeline' "$TMP/out" "$TMP/top"
check 'fan-out: merge raw and packed results mixed' 0 "adcnn-merge -m '$M' --labels '$LABELS' '$TMP/tiles/r0c0.res' '$TMP/tiles/r0c1.raw' '$TMP/tiles/r1c0.res' '$TMP/tiles/r1c1.raw'"
same 'fan-out: mixed = one-bundle pipeline' "$TMP/out" "$TMP/top"
check 'fan-out: cat results | merge -' 0 "cat '$TMP'/tiles/*.res | adcnn-merge -m '$M' --labels '$LABELS' -"
same 'fan-out: cat packed results = one-bundle pipeline' "$TMP/out" "$TMP/top"
check 'fan-out: cat raw results | merge' 0 "cat '$TMP'/tiles/*.raw | adcnn-merge -m '$M' --labels '$LABELS'"
same 'fan-out: cat raw results = one-bundle pipeline' "$TMP/out" "$TMP/top"
check 'fan-out: cat tile bundles | run | merge' 0 "cat '$TMP'/tiles/*.adcnn | adcnn-run | adcnn-merge -m '$M' --labels '$LABELS' -"
same 'fan-out: cat tile bundles | run = one-bundle pipeline' "$TMP/out" "$TMP/top"
# a 3x3 fan-out, halo mode, merged with the tail of the model: the unpartitioned output
check 'fan-out 3x3 halo: partition -O' 0 "adcnn-partition -m '$M' --mode halo -g 3x3 -O '$TMP/t33' '$IMG'"
for f in "$TMP"/t33/*.adcnn; do
	check "fan-out 3x3 halo: ${f##*/}" 0 "adcnn-run '$f' | adcnn-pack --lossless -o '${f%.adcnn}.res'"
done
check 'fan-out 3x3 halo: merge' 0 "adcnn-merge -m '$M' --output '$TMP/t33.npy' '$TMP'/t33/*.res"
if msg=$(testutil cmp --rel 1e-4 "$TMP/t33.npy" "$SHARE/images/sample_logits.npy"); then pass; else fail "fan-out 3x3 halo: $msg"; fi
finish
