#!/bin/sh
# adcnn-merge: the common options, the top-k text and JSON, results in any order and from a
# stream, missing tiles, tiles of another job or model, and the detector's output tensor.
. "${top_srcdir:-.}/tests/cli/lib.sh"
M="$SHARE/models/example.onnx"
IMG="$SHARE/images/sample.png"
LABELS="$SHARE/labels.txt"
D="$DATA/models/detector"

# top-k lines: INDEX<TAB>PROB (6 decimals), distinct indices, probabilities not increasing
topk_ok() {
	awk -F '\t' -v n="$2" '
		NF != 2 || $1 !~ /^[0-9]+$/ || $2 !~ /^[01]\.[0-9][0-9][0-9][0-9][0-9][0-9]$/ { bad = 1 }
		seen[$1]++ { bad = 1 }
		NR > 1 && $2 + 0 > last + 0 { bad = 1 }
		{ last = $2 }
		END { exit bad || NR != n }' "$1"
}

# The results: one bundle, and one per tile (fan-out)
adcnn-partition -m "$M" -o "$TMP/t.adcnn" "$IMG" || fail 'cannot partition'
adcnn-run -o "$TMP/r.adcnn" "$TMP/t.adcnn" || fail 'cannot run'
adcnn-partition -m "$M" -O "$TMP/fan" "$IMG" || fail 'cannot fan out'
for id in r0c0 r0c1 r1c0 r1c1; do
	adcnn-run -o "$TMP/fan/$id.res" "$TMP/fan/$id.adcnn" || fail "cannot run $id"
done
F="$TMP/fan"

# The options every tool has
check 'merge --help' 0 "adcnn-merge --help"
expect_out_re '^usage: adcnn-merge ' 'merge --help: usage on stdout'
expect_empty_err 'merge --help'
check 'merge -h' 0 "adcnn-merge -h"
expect_out_re '^usage: adcnn-merge ' 'merge -h: usage on stdout'
check 'merge -V' 0 "adcnn-merge -V"
expect_out_re '^adcnn-merge ' 'merge -V: tool name'
for w in 'bundle format 1\.0' BLIS libarchive libsodium zstd protobuf-c; do
	expect_out_re "$w" "merge -V: $w"
done
expect_empty_err 'merge -V'
check 'merge: unknown option' 64 "adcnn-merge --no-such-option -m '$M' '$TMP/r.adcnn'"
expect_err '^usage: adcnn-merge' 'merge: unknown option: usage on stderr'
expect_out_eq '' 'merge: unknown option: nothing on stdout'
# (adcnn-merge takes any number of results: no "too many arguments")
check 'merge: no -m' 64 "adcnn-merge '$TMP/r.adcnn'"
expect_err '-m' 'merge: no -m: message'
expect_err '^usage: adcnn-merge' 'merge: no -m: usage'
for k in 0 -1 abc; do
	check "merge -k $k" 64 "adcnn-merge -k '$k' -m '$M' '$TMP/r.adcnn'"
	expect_err "'$k'" "merge -k $k: message"
done
if command -v script >/dev/null 2>&1 && script -qec true /dev/null </dev/null >/dev/null 2>&1; then
	# text goes to a terminal; a binary .npy does not
	printf '%s\n' "adcnn-merge -m '$M' '$TMP/r.adcnn'" >"$TMP/tty.sh"
	check 'merge: top-k to a terminal' 0 "script -qec 'sh $TMP/tty.sh' /dev/null </dev/null"
	if [ "$(tr -d '\r' <"$TMP/out" | wc -l)" -eq 5 ]; then pass; else fail 'merge: top-k to a terminal: not 5 lines' "$(cat "$TMP/out")"; fi
	printf '%s\n' "adcnn-partition -m '$D/model.onnx' '$D/input.npy' | adcnn-run | adcnn-merge -m '$D/model.onnx' --output -" >"$TMP/tty.sh"
	check 'merge: .npy to a terminal' 64 "script -qec 'sh $TMP/tty.sh' /dev/null </dev/null"
	expect_out_re 'terminal' 'merge: .npy to a terminal: message'
	if grep -q 'NUMPY' "$TMP/out"; then fail 'merge: a .npy went to the terminal'; else pass; fi
else
	skip 'merge: script(1) cannot give a terminal here'
fi

# Text output. A 1x1 grid is unpartitioned inference: these are the softmax of
# share/adcnn/images/sample_logits.npy, the model's output computed by PyTorch, to six
# decimals. The lines must be these but for the probabilities, which may differ from them by
# 2 in the sixth decimal: float32 rounding, which differs with the convolution algorithm a
# layer gets, moves it (PyTorch's 0.5875263 is printed 0.587526 or 0.587527).
TAB=$(printf '\t')
expect_top() { # EXPECTED NAME
	printf '%s\n' "$1" >"$TMP/want"
	# JSON: the same text with the numbers taken out, then the numbers
	if sed 's/"probability":[0-9.]*/"probability":P/g' "$TMP/want" >"$TMP/want.t" &&
		sed 's/"probability":[0-9.]*/"probability":P/g' "$TMP/out" >"$TMP/out.t" &&
		grep -o '"probability":[0-9.]*' "$TMP/want" | tr ':' '\t' >"$TMP/want.p" &&
		grep -o '"probability":[0-9.]*' "$TMP/out" | tr ':' '\t' >"$TMP/out.p" &&
		[ -s "$TMP/want.p" ]; then
		cmp -s "$TMP/want.t" "$TMP/out.t" && near "$TMP/want.p" "$TMP/out.p"
	else
		near "$TMP/want" "$TMP/out"
	fi && pass || fail "$2: unexpected stdout" "$(head -c 600 "$TMP/out")"
}
near() { # WANT GOT: tab-separated lines, the same but for field 2, a probability
	awk -F '\t' 'NR == FNR { w[FNR] = $0; n = FNR; next }
		{ k = split(w[FNR], e, "\t"); d = ($2 - e[2]) * 1e6
		  if (NF != k || $1 "" != e[1] "" || $3 "" != e[3] "" || $2 !~ /^0\.[0-9][0-9][0-9][0-9][0-9][0-9]$/ ||
		      d > 2.5 || d < -2.5) bad = 1
		  m = FNR }
		END { exit bad || m != n }' "$1" "$2"
}
top5="6${TAB}0.587526${TAB}Shirt
2${TAB}0.088341${TAB}Pullover
3${TAB}0.061663${TAB}Dress
9${TAB}0.052237${TAB}Ankle boot
4${TAB}0.051996${TAB}Coat"
check 'merge 1x1 --labels' 0 "adcnn-partition -g 1x1 -m '$M' '$IMG' | adcnn-run | adcnn-merge -m '$M' --labels '$LABELS' -"
expect_top "$top5" 'merge 1x1 --labels'
expect_empty_err 'merge 1x1 --labels'
check 'merge 1x1 -k 3' 0 "adcnn-partition -g 1x1 -m '$M' '$IMG' | adcnn-run | adcnn-merge -m '$M' -k 3 -"
expect_top "6${TAB}0.587526
2${TAB}0.088341
3${TAB}0.061663" 'merge 1x1 -k 3'
check 'merge 1x1 --json -k 3 --labels' 0 "adcnn-partition -g 1x1 -m '$M' '$IMG' | adcnn-run | adcnn-merge -m '$M' --json --top 3 --labels '$LABELS' -"
expect_top '{"top":[{"index":6,"probability":0.587526,"label":"Shirt"},{"index":2,"probability":0.088341,"label":"Pullover"},{"index":3,"probability":0.061663,"label":"Dress"}]}' 'merge 1x1 --json'

# The model through the cache: the first merge stores the model's ready form, the next ones
# map it; a corrupt one is made anew; the results are the same every time
MH=$(b2sum -l 256 "$M" | cut -d ' ' -f 1)
RF="$XDG_CACHE_HOME/adcnn/models/$MH.ready"
rm -f "$RF"
check 'merge: model parsed' 0 "adcnn-merge -m '$M' -o '$TMP/c1.npy' '$TMP/r.adcnn'"
if [ -s "$RF" ]; then pass; else fail 'merge: no ready form of the model in the cache'; fi
check 'merge: model from its ready form' 0 "adcnn-merge -m '$M' -o '$TMP/c2.npy' '$TMP/r.adcnn'"
if cmp -s "$TMP/c1.npy" "$TMP/c2.npy"; then pass; else fail 'merge: the ready form gives another output'; fi
cp "$RF" "$TMP/ready.good"
printf 'garbage' | dd of="$RF" bs=1 seek=100 conv=notrunc 2>/dev/null
check 'merge: a corrupt ready form' 0 "adcnn-merge -m '$M' -o '$TMP/c3.npy' '$TMP/r.adcnn'"
if cmp -s "$TMP/c1.npy" "$TMP/c3.npy"; then pass; else fail 'merge: a corrupt ready form gives another output'; fi
if cmp -s "$RF" "$TMP/ready.good"; then pass; else fail 'merge: the corrupt ready form was not made anew'; fi
check 'merge: the ready form made anew' 0 "adcnn-merge -m '$M' -o '$TMP/c4.npy' '$TMP/r.adcnn'"
if cmp -s "$TMP/c1.npy" "$TMP/c4.npy"; then pass; else fail 'merge: the remade ready form gives another output'; fi

# -o is --output
check 'merge -o' 0 "adcnn-merge -m '$M' -o '$TMP/o-short.npy' '$TMP/r.adcnn'"
expect_out_eq '' 'merge -o: nothing on stdout'
check 'merge --output' 0 "adcnn-merge -m '$M' --output '$TMP/o-long.npy' '$TMP/r.adcnn'"
if [ -s "$TMP/o-short.npy" ] && cmp -s "$TMP/o-short.npy" "$TMP/o-long.npy"; then pass; else fail 'merge -o: not the file --output writes'; fi

# The default 2x2 fdsp grid
check 'merge' 0 "adcnn-merge -m '$M' '$TMP/r.adcnn'"
expect_empty_err 'merge'
cp "$TMP/out" "$TMP/top"
if topk_ok "$TMP/top" 5; then pass; else fail 'merge: not 5 lines of INDEX<TAB>PROB, best first' "$(cat "$TMP/top")"; fi
check 'merge -k 3' 0 "adcnn-merge -k 3 -m '$M' '$TMP/r.adcnn'"
if [ "$(cat "$TMP/out")" = "$(head -n 3 "$TMP/top")" ]; then pass; else fail 'merge -k 3: not the first 3 of the top 5' "$(cat "$TMP/out")"; fi
check 'merge -k 10' 0 "adcnn-merge -k 10 -m '$M' '$TMP/r.adcnn'"
if topk_ok "$TMP/out" 10; then pass; else fail 'merge -k 10: not 10 lines' "$(cat "$TMP/out")"; fi
check 'merge --labels' 0 "adcnn-merge --labels '$LABELS' -m '$M' '$TMP/r.adcnn'"
# the label is line INDEX+1 of the labels file
if awk -F '\t' 'NR == FNR { l[NR - 1] = $0; next } { if (NF != 3 || l[$1] != $3) bad = 1; n++ } END { exit bad || n != 5 }' "$LABELS" "$TMP/out"; then pass; else fail 'merge --labels: wrong labels' "$(cat "$TMP/out")"; fi
if [ "$(cut -f 1,2 "$TMP/out")" = "$(cat "$TMP/top")" ]; then pass; else fail 'merge --labels: not the same classes'; fi
check 'merge --json' 0 "adcnn-merge --json --labels '$LABELS' -m '$M' '$TMP/r.adcnn'"
if [ "$(wc -l <"$TMP/out")" -eq 1 ]; then pass; else fail 'merge --json: not one line' "$(cat "$TMP/out")"; fi
cp "$TMP/out" "$TMP/json"
if [ -x /usr/bin/python3 ]; then
	if /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)' <"$TMP/json" 2>/dev/null; then pass; else fail 'merge --json: not valid JSON' "$(cat "$TMP/json")"; fi
	# the same classes, probabilities and labels as the text
	adcnn-merge --labels "$LABELS" -m "$M" "$TMP/r.adcnn" >"$TMP/labelled" 2>/dev/null
	if /usr/bin/python3 -c '
import json, sys
top = json.load(open(sys.argv[1]))["top"]
text = ["%d\t%.6f\t%s" % (t["index"], t["probability"], t["label"]) for t in top]
sys.exit(text != open(sys.argv[2]).read().splitlines())' "$TMP/json" "$TMP/labelled" 2>/dev/null; then
		pass
	else
		fail 'merge --json: not the classes of the text output' "$(cat "$TMP/json")"
	fi
else
	skip 'merge --json: /usr/bin/python3 not found'
fi
check 'merge --json, no labels' 0 "adcnn-merge --json -m '$M' '$TMP/r.adcnn'"
expect_out_re '^\{"top":\[\{"index":[0-9]+,"probability":[0-9.]+\}(,\{"index":[0-9]+,"probability":[0-9.]+\}){4}\]\}$' 'merge --json, no labels'

# Results in any order, from files or a stream of concatenated bundles
check 'merge: per-tile results' 0 "adcnn-merge -m '$M' '$F/r0c0.res' '$F/r0c1.res' '$F/r1c0.res' '$F/r1c1.res'"
same 'merge: per-tile results give the top-k of the single bundle' "$TMP/out" "$TMP/top"
check 'merge: per-tile results reversed' 0 "adcnn-merge -m '$M' '$F/r1c1.res' '$F/r1c0.res' '$F/r0c1.res' '$F/r0c0.res'"
same 'merge: results reversed, same top-k' "$TMP/out" "$TMP/top"
check 'merge: per-tile results shuffled' 0 "adcnn-merge -m '$M' '$F/r1c0.res' '$F/r0c0.res' '$F/r1c1.res' '$F/r0c1.res'"
same 'merge: results shuffled, same top-k' "$TMP/out" "$TMP/top"
check 'merge: concatenated results on stdin (-)' 0 "cat '$F/r0c0.res' '$F/r0c1.res' '$F/r1c0.res' '$F/r1c1.res' | adcnn-merge -m '$M' -"
same 'merge: concatenated on stdin, same top-k' "$TMP/out" "$TMP/top"
check 'merge: concatenated results on stdin, reversed, no -' 0 "cat '$F/r1c1.res' '$F/r1c0.res' '$F/r0c1.res' '$F/r0c0.res' | adcnn-merge -m '$M'"
same 'merge: concatenated on stdin reversed, same top-k' "$TMP/out" "$TMP/top"
check 'merge: the single bundle on stdin' 0 "adcnn-merge -m '$M' <'$TMP/r.adcnn'"
same 'merge: single bundle on stdin, same top-k' "$TMP/out" "$TMP/top"

# A missing tile
check 'merge: tile r1c0 missing' 69 "adcnn-merge -m '$M' '$F/r0c0.res' '$F/r0c1.res' '$F/r1c1.res'"
expect_err "^adcnn-merge: tile 'r1c0' missing$" 'merge: tile missing: message'
expect_out_eq '' 'merge: tile missing: nothing on stdout'
check 'merge: tile missing, from a stream' 69 "cat '$F/r0c0.res' '$F/r1c1.res' '$F/r0c1.res' | adcnn-merge -m '$M' -"
expect_err "r1c0" 'merge: tile missing, from a stream: message'
check 'merge: tiles missing, --output' 69 "adcnn-merge -m '$M' --output '$TMP/miss.npy' --stitched '$TMP/miss-st.npy' '$F/r0c0.res'"
expect_err "r0c1" 'merge: tiles missing: names r0c1'
expect_err "r1c1" 'merge: tiles missing: names r1c1'
expect_no_file "$TMP/miss.npy" 'merge: tiles missing, --output'
expect_no_file "$TMP/miss-st.npy" 'merge: tiles missing, --stitched'
check 'merge --allow-missing' 0 "adcnn-merge --allow-missing -m '$M' '$F/r0c0.res' '$F/r0c1.res' '$F/r1c1.res'"
expect_err '^adcnn-merge: warning: .*r1c0' 'merge --allow-missing: warning names the tile'
expect_err 'missing' 'merge --allow-missing: warning says missing'
if topk_ok "$TMP/out" 5; then pass; else fail 'merge --allow-missing: not 5 lines' "$(cat "$TMP/out")"; fi
if cmp -s "$TMP/out" "$TMP/top"; then fail 'merge --allow-missing: the same top-k as with all the tiles'; else pass; fi
check 'merge --allow-missing, all there' 0 "adcnn-merge --allow-missing -m '$M' '$TMP/r.adcnn'"
same 'merge --allow-missing, all there: same top-k' "$TMP/out" "$TMP/top"
expect_empty_err 'merge --allow-missing, all there: no warning'

# Tiles of another job: the same model and plan, another input
mknpy "$TMP/zeros.npy" '<f4' '(1, 1, 64, 64)' 16384
adcnn-partition -m "$M" -O "$TMP/fanz" "$TMP/zeros.npy" || fail 'cannot fan out the zeros'
adcnn-run -o "$TMP/fanz/r1c0.res" "$TMP/fanz/r1c0.adcnn" || fail 'cannot run the zeros'
check 'merge: a tile from another job' 65 "adcnn-merge -m '$M' --output '$TMP/job.npy' '$F/r0c0.res' '$F/r0c1.res' '$TMP/fanz/r1c0.res' '$F/r1c1.res'"
expect_err 'another job' 'merge: another job: message'
expect_out_eq '' 'merge: another job: nothing on stdout'
expect_no_file "$TMP/job.npy" 'merge: another job'
check 'merge: a tile from another job, first' 65 "adcnn-merge -m '$M' '$TMP/fanz/r1c0.res' '$F/r0c0.res' '$F/r0c1.res' '$F/r1c1.res'"
expect_err 'another job' 'merge: another job, first: message'
check 'merge: a tile from another job, in a stream' 65 "cat '$F/r0c0.res' '$F/r0c1.res' '$F/r1c1.res' '$TMP/fanz/r1c0.res' | adcnn-merge -m '$M' -"
expect_err 'another job' 'merge: another job, in a stream: message'
check 'merge: a tile from another job, with --allow-missing' 65 "adcnn-merge --allow-missing -m '$M' '$F/r0c0.res' '$TMP/fanz/r1c0.res'"
# The wrong model
check 'merge -m another model' 65 "adcnn-merge -m '$DATA/models/vgg/model.onnx' '$TMP/r.adcnn'"
expect_err '^adcnn-merge: .*model' 'merge -m another model: message'
expect_out_eq '' 'merge -m another model: nothing on stdout'
check 'merge -m the detector for example results' 65 "adcnn-merge -m '$D/model.onnx' --output '$TMP/wm.npy' '$TMP/r.adcnn'"
expect_no_file "$TMP/wm.npy" 'merge -m another model, --output'
# Not results
check 'merge: a tile bundle' 65 "adcnn-merge -m '$M' '$TMP/t.adcnn'"
expect_err 'tile bundle' 'merge: a tile bundle: message'
check 'merge: nonexistent result' 66 "adcnn-merge -m '$M' '$F/r0c0.res' '$TMP/nonexistent.res'"
expect_err "'$TMP/nonexistent.res'" 'merge: nonexistent result: message'
check 'merge: nonexistent model' 66 "adcnn-merge -m '$TMP/nonexistent.onnx' '$TMP/r.adcnn'"
expect_err "'$TMP/nonexistent.onnx'" 'merge: nonexistent model: message'
check 'merge: nonexistent labels' 66 "adcnn-merge -m '$M' --labels '$TMP/nonexistent.txt' '$TMP/r.adcnn'"
expect_err "'$TMP/nonexistent.txt'" 'merge: nonexistent labels: message'

# The detector: fully convolutional, its output is no class vector
adcnn-partition -m "$D/model.onnx" --mode halo -o "$TMP/dt.adcnn" "$D/input.npy" || fail 'cannot partition the detector'
adcnn-run -o "$TMP/dr.adcnn" "$TMP/dt.adcnn" || fail 'cannot run the detector'
check 'merge detector --output' 0 "adcnn-merge -m '$D/model.onnx' --output '$TMP/dout.npy' --stitched '$TMP/dst.npy' '$TMP/dr.adcnn'"
expect_out_eq '' 'merge detector --output: nothing on stdout'
expect_empty_err 'merge detector --output'
if msg=$(testutil cmp --rel 1e-4 "$TMP/dout.npy" "$D/ref_out.npy"); then pass; else fail "merge detector --output: $msg"; fi
if msg=$(testutil cmp --rel 1e-4 "$TMP/dst.npy" "$D/ref_split.npy"); then pass; else fail "merge detector --stitched: $msg"; fi
check 'merge detector --output -' 0 "adcnn-merge -m '$D/model.onnx' --output - '$TMP/dr.adcnn'"
same 'merge detector: --output - writes the same .npy' "$TMP/out" "$TMP/dout.npy"
check 'merge detector without --output' 64 "adcnn-merge -m '$D/model.onnx' '$TMP/dr.adcnn'"
expect_err '--output' 'merge detector without --output: hint'
expect_out_eq '' 'merge detector without --output: nothing on stdout'
# the example's output tensor, too: the logits of the 1x1 grid are those of PyTorch
check 'merge example --output' 0 "adcnn-partition -g 1x1 -m '$M' '$IMG' | adcnn-run | adcnn-merge -m '$M' --output '$TMP/logits.npy' -"
if msg=$(testutil cmp --rel 1e-4 "$TMP/logits.npy" "$SHARE/images/sample_logits.npy"); then pass; else fail "merge example --output: $msg"; fi
finish
