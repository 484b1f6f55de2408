#!/bin/sh
# ONNX's own operator tests (Debian's libonnx-testdata) through the whole pipeline, grid 1x1:
# partition | run | merge, compared with the reference output (rtol 1e-4, atol 1e-5).
. "${top_srcdir:-.}/tests/cli/lib.sh"
NODE=${ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}/node
if [ ! -d "$NODE" ]; then
	echo "skip: $NODE not found (install libonnx-testdata)"
	exit 77
fi
ran=0
for d in "$NODE"/test_*/; do
	t=$(basename "$d")
	ds="$d/test_data_set_0"
	[ -f "$d/model.onnx" ] && [ -f "$ds/input_0.pb" ] || { skip "$t: no test data"; continue; }
	if [ -f "$ds/output_1.pb" ]; then
		skip "$t: several outputs"
		continue
	fi
	reason=$(testutil inline "$d/model.onnx" "$ds" "$TMP/m.onnx")
	case $? in
	0) ;;
	77) skip "$t: $reason"; continue ;;
	*) fail "$t: cannot prepare the model"; continue ;;
	esac
	adcnn-partition -m "$TMP/m.onnx" -g 1x1 "$ds/input_0.pb" >"$TMP/tiles" 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 65 ] && grep -q 'not supported\|is not float32' "$TMP/err"; then
		skip "$t: $(sed 's/^adcnn-partition: //' "$TMP/err" | head -n 1)"
		continue
	fi
	ran=$((ran + 1))
	if [ $rc -ne 0 ]; then
		fail "$t: partition exit $rc" "$(head -c 300 "$TMP/err")"
		continue
	fi
	if ! adcnn-run "$TMP/tiles" 2>"$TMP/err" | adcnn-merge -m "$TMP/m.onnx" --output "$TMP/out.npy" - 2>>"$TMP/err"; then
		fail "$t: run | merge failed" "$(head -c 300 "$TMP/err")"
		continue
	fi
	if msg=$(testutil cmp --rtol 1e-4 --atol 1e-5 "$TMP/out.npy" "$ds/output_0.pb"); then
		pass
	else
		fail "$t: $msg"
	fi
done
echo "onnx node tests: $ran ran, $npass passed, $nfail failed, $nskip skipped"
[ "$ran" -gt 0 ] || fail "no operator test ran"
finish
