#!/bin/sh
# Random-weight models with the shapes of real networks (tests/data/models, made by
# gen_models.py): halo mode equals unpartitioned inference for every grid, fdsp mode equals
# PyTorch's FDSP reference (each tile run alone, zero padding at its borders).
. "${top_srcdir:-.}/tests/cli/lib.sh"
for m in resnet vgg mobilenet squeezenet detector wide; do
	d="$DATA/models/$m"
	for g in 1 2 3 4; do
		for mode in halo fdsp; do
			t="$m ${g}x$g $mode"
			if ! run 0 "adcnn-partition -m '$d/model.onnx' -g ${g}x$g --mode $mode '$d/input.npy' | adcnn-run -j 2 | adcnn-merge -m '$d/model.onnx' --stitched '$TMP/st.npy' --output '$TMP/out.npy' -"; then
				printf '  in test: %s\n' "$t"
				continue
			fi
			ref="$d/ref_fdsp_${g}x$g.npy"
			[ "$mode" = halo ] || [ "$g" = 1 ] && ref="$d/ref_split.npy"
			if msg=$(testutil cmp --rel 1e-4 "$TMP/st.npy" "$ref"); then pass; else fail "$t: stitched: $msg"; fi
			if [ "$mode" = halo ] || [ "$g" = 1 ]; then
				if msg=$(testutil cmp --rel 1e-4 "$TMP/out.npy" "$d/ref_out.npy"); then pass; else fail "$t: output: $msg"; fi
			fi
		done
	done
done
# halo mode on GRID with the variable set (ADCNN_CONV=ALGO, ADCNN_GEMM=...) equals
# unpartitioned inference
forced() { # MODEL GRID VAR=VALUE
	d="$DATA/models/$1"
	t="$1 $2x$2 halo, $3"
	if ! run 0 "adcnn-partition -m '$d/model.onnx' -g $2x$2 --mode halo '$d/input.npy' | $3 adcnn-run -j 2 | $3 adcnn-merge -m '$d/model.onnx' --stitched '$TMP/st.npy' --output '$TMP/out.npy' -"; then
		printf '  in test: %s\n' "$t"
		return
	fi
	if msg=$(testutil cmp --rel 1e-4 "$TMP/st.npy" "$d/ref_split.npy"); then pass; else fail "$t: stitched: $msg"; fi
	if msg=$(testutil cmp --rel 1e-4 "$TMP/out.npy" "$d/ref_out.npy"); then pass; else fail "$t: output: $msg"; fi
}
# Winograd F(4x4, 3x3) wherever it applies (auto picks it only for larger layers than these)
for m in resnet vgg squeezenet detector; do
	for g in 1 3; do
		forced "$m" "$g" ADCNN_CONV=winograd
	done
done
# The panel GEMM (lib/pgemm.c) everywhere, and BLIS everywhere: wide's deep layer is where
# the automatic choice takes panels (on AVX-512), so both paths are checked on every host
for m in resnet wide; do
	for algo in panels im2col; do
		forced "$m" 2 "ADCNN_CONV=$algo"
	done
done
# BLIS and sgemm.c's GEMM, whichever the machine would choose
for m in resnet vgg mobilenet; do
	for gemm in blis own; do
		forced "$m" 2 "ADCNN_GEMM=$gemm"
	done
done
finish
