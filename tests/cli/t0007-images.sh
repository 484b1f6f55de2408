#!/bin/sh
# Image inputs give the model what PIL gives a training script: decode (PNG, JPEG, PPM,
# PGM), BILINEAR resize to the model's input, /255. The split at the model's input makes
# the stitched tensor the preprocessed input itself. References: tests/data/images/make_images.py.
. "${top_srcdir:-.}/tests/cli/lib.sh"
V="$DATA/models/vgg/model.onnx"
I="$DATA/images"
for c in rgb.jpg:rgb_jpg_128 rgb.ppm:rgb_ppm_128 grey.pgm:grey_pgm_128 big.ppm:big_ppm_128; do
	img=${c%%:*}
	ref=${c#*:}
	if ! run 0 "adcnn-partition -m '$V' --split input -g 1x1 '$I/$img' | adcnn-run | adcnn-merge -m '$V' --stitched '$TMP/x.npy' --output /dev/null -"; then
		printf '  in test: %s\n' "$img"
		continue
	fi
	# within one grey level: PIL resizes in fixed point
	if msg=$(testutil cmp --rtol 0 --atol 0.0040 "$TMP/x.npy" "$I/$ref.npy"); then pass; else fail "$img: $msg"; fi
done
# the example model carries its preprocessing: 28x28 PNG to 64x64, (p/255 - 0.2860)/0.3530
S="$SHARE"
check 'example: metadata preprocessing' 0 "adcnn-partition -m '$S/models/example.onnx' --split input -g 1x1 '$S/images/sample.png' | adcnn-run | adcnn-merge -m '$S/models/example.onnx' --stitched '$TMP/s.npy' --output /dev/null -"
if msg=$(testutil cmp --rtol 0 --atol 0.012 "$TMP/s.npy" "$S/images/sample_input.npy"); then pass; else fail "example preprocessing: $msg"; fi
# options override the metadata
check 'example: --mean/--std override' 0 "adcnn-partition -m '$S/models/example.onnx' --mean 0 --std 1 --split input -g 1x1 '$S/images/sample.png' | adcnn-run | adcnn-merge -m '$S/models/example.onnx' --stitched '$TMP/o.npy' --output /dev/null -"
if msg=$(testutil cmp --rtol 0 --atol 0.012 "$TMP/o.npy" "$S/images/sample_input.npy"); then fail "--mean/--std did not change the input"; else pass; fi
# the Fashion-MNIST model: its 28x28 PNGs give exactly what the training script fed it
# (share/adcnn/images/fashion-inputs.npy, made by share/adcnn/train/train.py samples)
F="$SHARE/models/fashion-fdsp.onnx"
i=0
grep -v '^#' "$SHARE/images/fashion-inputs.txt" | while read -r png class name; do
	echo "$i $png"
	i=$((i + 1))
done >"$TMP/fashion-list"
if [ "$(wc -l <"$TMP/fashion-list")" -eq 8 ]; then pass; else fail 'fashion-inputs.txt: not 8 images'; fi
while read -r i png; do
	testutil slice "$SHARE/images/fashion-inputs.npy" "$i" "$TMP/ref.npy" || fail "cannot slice image $i"
	if ! run 0 "adcnn-partition -m '$F' --split input -g 1x1 '$SHARE/images/$png' | adcnn-run | adcnn-merge -m '$F' --stitched '$TMP/f.npy' --output /dev/null -"; then
		printf '  in test: %s\n' "$png"
		continue
	fi
	if msg=$(testutil cmp --rtol 0 --atol 1e-6 "$TMP/f.npy" "$TMP/ref.npy"); then pass; else fail "$png: the input differs from training's: $msg"; fi
done <"$TMP/fashion-list"
finish
