#!/bin/sh
# adcnn-run: the common options, file and stdin, thread counts, where the prefix model comes
# from (embedded, cache, -m) and what it refuses; -o never leaves a file behind on failure.
. "${top_srcdir:-.}/tests/cli/lib.sh"
M="$SHARE/models/example.onnx"
IMG="$SHARE/images/sample.png"

# the cache files: names of 64 hexadecimal digits under $1/adcnn/models
cached() {
	ls "$1/adcnn/models" 2>/dev/null | grep -E '^[0-9a-f]{64}$'
}

# The tile bundles: partition caches the prefix in $XDG_CACHE_HOME
adcnn-partition -m "$M" -o "$TMP/t.adcnn" "$IMG" || fail 'cannot make the tile bundle'
adcnn-partition -m "$M" --embed-model -o "$TMP/te.adcnn" "$IMG" || fail 'cannot make the tile bundle with --embed-model'
adcnn-partition -m "$M" -g 3x3 -o "$TMP/t33.adcnn" "$IMG" || fail 'cannot make the 3x3 tile bundle'
prefix=$(tar -xOf "$TMP/t.adcnn" MANIFEST | sed -n 's/^prefix //p')

# The options every tool has
check 'run --help' 0 "adcnn-run --help"
expect_out_re '^usage: adcnn-run ' 'run --help: usage on stdout'
expect_empty_err 'run --help'
check 'run -h' 0 "adcnn-run -h"
expect_out_re '^usage: adcnn-run ' 'run -h: usage on stdout'
check 'run -V' 0 "adcnn-run -V"
expect_out_re '^adcnn-run ' 'run -V: tool name'
for w in 'bundle format 1\.0' BLIS libarchive libsodium zstd protobuf-c; do
	expect_out_re "$w" "run -V: $w"
done
expect_empty_err 'run -V'
check 'run: unknown option' 64 "adcnn-run --no-such-option '$TMP/t.adcnn'"
expect_err '^usage: adcnn-run' 'run: unknown option: usage on stderr'
expect_out_eq '' 'run: unknown option: nothing on stdout'
check 'run: too many arguments' 64 "adcnn-run '$TMP/t.adcnn' '$TMP/t.adcnn'"
expect_err 'too many arguments' 'run: too many arguments: message'
expect_err '^usage: adcnn-run' 'run: too many arguments: usage'
expect_out_eq '' 'run: too many arguments: nothing on stdout'
for j in 0 -1 abc 2x; do
	check "run: bad -j '$j'" 64 "adcnn-run -j '$j' '$TMP/t.adcnn'"
	expect_err "'$j'" "run: bad -j '$j': message"
done
tty_refuses 'run: bundle to a terminal' "adcnn-run '$TMP/t.adcnn'"

# File, stdin, -o: the same bytes
check 'run FILE' 0 "adcnn-run '$TMP/t.adcnn'"
cp "$TMP/out" "$TMP/r.adcnn"
expect_empty_err 'run FILE'
if [ "$(tar -tf "$TMP/r.adcnn" 2>&1 | tr '\n' ' ')" = 'MANIFEST results/r0c0.t results/r0c1.t results/r1c0.t results/r1c1.t ' ]; then pass; else fail 'run: result members' "$(tar -tf "$TMP/r.adcnn" 2>&1)"; fi
if [ "$(tar -xOf "$TMP/r.adcnn" MANIFEST 2>/dev/null | sed -n 2p)" = 'kind results' ]; then pass; else fail 'run: not kind results'; fi
# a result bundle keeps the tile bundle's plan
if [ "$(tar -xOf "$TMP/r.adcnn" MANIFEST | grep -vE '^(kind|member) ')" = "$(tar -xOf "$TMP/t.adcnn" MANIFEST | grep -vE '^(kind|member) ')" ]; then pass; else fail 'run: the result MANIFEST does not keep the plan'; fi
check 'run < FILE' 0 "adcnn-run <'$TMP/t.adcnn'"
same 'run: stdin and file give the same bytes' "$TMP/out" "$TMP/r.adcnn"
check 'run - < FILE' 0 "adcnn-run - <'$TMP/t.adcnn'"
same 'run: - and file give the same bytes' "$TMP/out" "$TMP/r.adcnn"
check 'run -o FILE' 0 "adcnn-run -o '$TMP/ro.adcnn' '$TMP/t.adcnn'"
expect_out_eq '' 'run -o: nothing on stdout'
same 'run: -o and stdout give the same bytes' "$TMP/ro.adcnn" "$TMP/r.adcnn"
check 'run -o /dev/null' 0 "adcnn-run -o /dev/null '$TMP/t.adcnn'"
if [ -c /dev/null ]; then pass; else fail 'run -o /dev/null replaced /dev/null'; fi
# ADCNN_CONV: a known value or none in silence; an unknown one is said and taken for auto
# (on this model auto is not im2col: their bytes differ)
for a in auto im2col winograd panels; do
	check "ADCNN_CONV=$a run" 0 "ADCNN_CONV=$a adcnn-run -o /dev/null '$TMP/t.adcnn'"
	expect_empty_err "ADCNN_CONV=$a run"
done
check 'ADCNN_CONV= run' 0 "ADCNN_CONV= adcnn-run -o /dev/null '$TMP/t.adcnn'"
expect_empty_err 'ADCNN_CONV= run'
check 'ADCNN_CONV=gemm run' 0 "ADCNN_CONV=gemm adcnn-run '$TMP/t.adcnn'"
same 'ADCNN_CONV=gemm run: the bytes of auto' "$TMP/out" "$TMP/r.adcnn"
expect_err '^adcnn-run: ADCNN_CONV=gemm: not auto, im2col, winograd or panels; taking auto$' 'ADCNN_CONV=gemm run: said'
# ADCNN_GEMM: BLIS or adcnn's own, silently; anything else warned of and taken for unset
for g in blis own ''; do
	check "ADCNN_GEMM=$g run" 0 "ADCNN_GEMM=$g adcnn-run -o /dev/null '$TMP/t.adcnn'"
	expect_empty_err "ADCNN_GEMM=$g run"
done
check 'ADCNN_GEMM=fast run' 0 "ADCNN_GEMM=fast adcnn-run '$TMP/t.adcnn'"
same 'ADCNN_GEMM=fast run: the bytes of unset' "$TMP/out" "$TMP/r.adcnn"
expect_err '^adcnn-run: ADCNN_GEMM=fast: not blis or own; taking the automatic choice$' 'ADCNN_GEMM=fast run: said'
check 'ADCNN_CONV=gemm ADCNN_GEMM=fast run' 0 "ADCNN_CONV=gemm ADCNN_GEMM=fast adcnn-run -o /dev/null '$TMP/t.adcnn'"
expect_err '^adcnn-run: ADCNN_CONV=gemm: not auto, im2col, winograd or panels; taking auto; ADCNN_GEMM=fast: not blis or own; taking the automatic choice$' 'both wrong: said'

# Threads: on these small networks the bytes do not depend on them (on larger ones, with
# more threads than tiles, BLIS may sum a thread's share of a product in another order:
# adcnn-run(1), -j)
for j in 1 2 4; do
	check "run -j $j" 0 "adcnn-run -j $j '$TMP/t.adcnn'"
	same "run -j $j: same bytes" "$TMP/out" "$TMP/r.adcnn"
done
check 'run -j 1, 3x3' 0 "adcnn-run -j 1 -o '$TMP/r33a.adcnn' '$TMP/t33.adcnn'"
check 'run -j 2, 3x3' 0 "adcnn-run --threads 2 -o '$TMP/r33b.adcnn' '$TMP/t33.adcnn'"
check 'run -j 9, 3x3' 0 "adcnn-run -j 9 -o '$TMP/r33c.adcnn' '$TMP/t33.adcnn'"
same 'run 3x3: -j 1 and -j 2 give the same bytes' "$TMP/r33a.adcnn" "$TMP/r33b.adcnn"
same 'run 3x3: -j 1 and -j 9 give the same bytes' "$TMP/r33a.adcnn" "$TMP/r33c.adcnn"

# Where the prefix comes from. A fresh cache and no embedded model: refused, with advice
check 'run: model neither cached nor embedded' 66 "XDG_CACHE_HOME='$TMP/fresh1' adcnn-run -o '$TMP/f1.adcnn' '$TMP/t.adcnn'"
expect_err '^adcnn-run: ' 'run: model not cached: message'
expect_err '--embed-model' 'run: model not cached: mentions --embed-model'
expect_err '-m' 'run: model not cached: mentions -m'
expect_out_eq '' 'run: model not cached: nothing on stdout'
expect_no_file "$TMP/f1.adcnn" 'run: model not cached'
check 'run: model not cached, to stdout' 66 "XDG_CACHE_HOME='$TMP/fresh1' adcnn-run '$TMP/t.adcnn'"
expect_out_eq '' 'run: model not cached, to stdout: nothing on stdout'
# --embed-model: runs, and fills the cache
check 'run: embedded model, fresh cache' 0 "XDG_CACHE_HOME='$TMP/fresh2' adcnn-run '$TMP/te.adcnn'"
same 'run: embedded model gives the same results' "$TMP/out" "$TMP/r.adcnn"
c=$(cached "$TMP/fresh2")
if [ -n "$c" ] && [ "$c" = "$prefix" ]; then pass; else fail "run: embedded model not cached as $prefix" "$(ls -R "$TMP/fresh2" 2>&1)"; fi
if command -v b2sum >/dev/null 2>&1; then
	if [ "$(b2sum -l 256 "$TMP/fresh2/adcnn/models/$prefix" 2>/dev/null | cut -d' ' -f1)" = "$prefix" ]; then pass; else fail 'run: the cached model is not named by its BLAKE2b-256'; fi
else
	skip 'run: b2sum not found'
fi
check 'run: from the cache an embedded model filled' 0 "XDG_CACHE_HOME='$TMP/fresh2' adcnn-run '$TMP/t.adcnn'"
same 'run: cached model gives the same results' "$TMP/out" "$TMP/r.adcnn"
# -m with the full model, or with the prefix itself
check 'run -m full model, fresh cache' 0 "XDG_CACHE_HOME='$TMP/fresh3' adcnn-run -m '$M' '$TMP/t.adcnn'"
same 'run -m full model: same results' "$TMP/out" "$TMP/r.adcnn"
check 'run -m prefix model, fresh cache' 0 "XDG_CACHE_HOME='$TMP/fresh4' adcnn-run -m '$TMP/fresh2/adcnn/models/$prefix' '$TMP/t.adcnn'"
same 'run -m prefix model: same results' "$TMP/out" "$TMP/r.adcnn"
# -m with another model
for m in vgg resnet; do
	check "run -m another model ($m)" 65 "XDG_CACHE_HOME='$TMP/fresh5' adcnn-run -m '$DATA/models/$m/model.onnx' -o '$TMP/f5-$m.adcnn' '$TMP/t.adcnn'"
	expect_err "^adcnn-run: .*model" "run -m another model ($m): message"
	expect_no_file "$TMP/f5-$m.adcnn" "run -m another model ($m)"
done
check 'run -m nonexistent model' 66 "XDG_CACHE_HOME='$TMP/fresh6' adcnn-run -m '$TMP/nonexistent.onnx' '$TMP/t.adcnn'"
expect_err "'$TMP/nonexistent.onnx'" 'run -m nonexistent model: message'

# What it refuses
check 'run: a results bundle' 65 "adcnn-run -o '$TMP/rr.adcnn' '$TMP/r.adcnn'"
expect_err '^adcnn-run: .*tile bundle' 'run: a results bundle: message'
expect_no_file "$TMP/rr.adcnn" 'run: a results bundle'
check 'run: a results bundle on stdin' 65 "adcnn-run <'$TMP/r.adcnn'"
expect_out_eq '' 'run: a results bundle on stdin: nothing on stdout'
adcnn-pack -o "$TMP/p.adcnn" "$TMP/r.adcnn" || fail 'cannot pack'
check 'run: a packed bundle' 65 "adcnn-run -o '$TMP/rp.adcnn' '$TMP/p.adcnn'"
expect_no_file "$TMP/rp.adcnn" 'run: a packed bundle'
# a failure does not touch an existing output file
printf 'old\n' >"$TMP/keep.adcnn"
check 'run: failure with an existing -o file' 65 "adcnn-run -o '$TMP/keep.adcnn' '$TMP/r.adcnn'"
if [ "$(cat "$TMP/keep.adcnn")" = old ]; then pass; else fail 'run: a failure changed the existing -o file'; fi
check 'run: nonexistent bundle' 66 "adcnn-run -o '$TMP/ne.adcnn' '$TMP/nonexistent.adcnn'"
expect_err "'$TMP/nonexistent.adcnn'" 'run: nonexistent bundle: message'
expect_no_file "$TMP/ne.adcnn" 'run: nonexistent bundle'
check 'run: -o in a missing directory' 74 "adcnn-run -o '$TMP/no/such/dir/r.adcnn' '$TMP/t.adcnn'"
# tile bundles of two jobs in one stream
adcnn-partition -m "$M" -O "$TMP/fanA" "$IMG" || fail 'cannot fan out'
adcnn-partition -m "$M" --mean 0.5 -O "$TMP/fanB" "$IMG" || fail 'cannot fan out'
check 'run: concatenated tile bundles of one job' 0 "cat '$TMP/fanA/r0c0.adcnn' '$TMP/fanA/r1c1.adcnn' | adcnn-run"
check 'run: concatenated tile bundles of two jobs' 65 "cat '$TMP/fanA/r0c0.adcnn' '$TMP/fanB/r1c1.adcnn' | adcnn-run -o '$TMP/mix.adcnn'"
expect_err 'job' 'run: two jobs: message'
expect_no_file "$TMP/mix.adcnn" 'run: two jobs'
# --bench: this node's speed on the bundle; the work is the plan's FLOPs; no bundle written
V="$DATA/models/vgg"
adcnn-partition -m "$V/model.onnx" -g 2x2 -o "$TMP/vgg.adcnn" "$V/input.npy" || fail 'cannot partition vgg'
check 'run --bench' 0 "adcnn-run --bench -j 1 '$TMP/vgg.adcnn'"
expect_out_re '^tiles 4 threads 1 runs [0-9]+ seconds [0-9.]+ gflop 0\.093192 gflops [0-9.]+$' 'run --bench: the report'
if [ "$(awk '{ print ($10 > 0.01) }' "$TMP/out")" = 1 ]; then pass; else fail 'run --bench: no speed' "$(cat "$TMP/out")"; fi
check 'run --bench --mode halo' 0 "adcnn-partition -m '$V/model.onnx' -g 2x2 --mode halo '$V/input.npy' | adcnn-run --bench -j 2"
expect_out_re '^tiles 4 threads 2 runs [0-9]+ seconds [0-9.]+ gflop 0\.154972 gflops [0-9.]+$' 'run --bench: halo tiles do more work'
check 'run --bench -o' 64 "adcnn-run --bench -o '$TMP/x.adcnn' '$TMP/vgg.adcnn'"
expect_no_file "$TMP/x.adcnn" 'run --bench -o'
check 'run -v: per-tile speed' 0 "adcnn-run -v -o /dev/null '$TMP/vgg.adcnn'"
expect_err '^tile r1c1: [0-9.]+ s, [0-9.]+ GFLOP/s$' 'run -v: per-tile speed'
# The ready form: the first run stores the parsed prefix beside the ONNX in the cache, the next
# ones map it; the results are the same bytes. A corrupt or foreign ready form is replaced.
# wide's deep layer has its weights' panels in the ready form too (lib/pgemm.c): the same
# bytes from the parsed model (panels made on first use) and the mapped one
W="$DATA/models/wide"
adcnn-partition -m "$W/model.onnx" --embed-model -o "$TMP/wt.adcnn" "$W/input.npy" || fail 'cannot partition wide'
check 'run wide: the first run, from the ONNX' 0 "XDG_CACHE_HOME='$TMP/wready' adcnn-run -o '$TMP/w1.adcnn' '$TMP/wt.adcnn'"
check 'run wide: from the ready form' 0 "XDG_CACHE_HOME='$TMP/wready' adcnn-run -o '$TMP/w2.adcnn' '$TMP/wt.adcnn'"
same 'run wide: the ready form gives the same results' "$TMP/w2.adcnn" "$TMP/w1.adcnn"
wr=$(ls "$TMP"/wready/adcnn/models/*.ready 2>/dev/null | head -n 1)
# the ready form holds the weights (about 757 KB, as in the ONNX) and the 590 KB of panels
if [ -n "$wr" ] && [ "$(wc -c <"$wr")" -gt 1300000 ]; then pass; else fail 'run wide: no panels in the ready form' "$(ls -l "$TMP"/wready/adcnn/models/ 2>&1)"; fi
R="$DATA/models/resnet"
export XDG_CACHE_HOME="$TMP/ready"
adcnn-partition -m "$R/model.onnx" -g 2x2 --mode halo -o "$TMP/rt.adcnn" "$R/input.npy" || fail 'cannot partition resnet'
check 'run: first run' 0 "adcnn-run -o '$TMP/rr1.adcnn' '$TMP/rt.adcnn'"
ready=$(ls "$TMP"/ready/adcnn/models/*.ready 2>/dev/null)
if [ -n "$ready" ] && [ -s "$ready" ]; then pass; else fail 'run: no ready form in the cache'; fi
check 'run: from the ready form' 0 "adcnn-run -o '$TMP/rr2.adcnn' '$TMP/rt.adcnn'"
same 'run: the ready form gives the same results' "$TMP/rr2.adcnn" "$TMP/rr1.adcnn"
for bad in garbage version truncated; do
	case $bad in
	garbage) head -c 4096 /dev/urandom >"$ready" ;;
	version) printf 'ADCNNRDY\001\000\000\000\003\000\000\0000.0' >"$ready" ;;
	truncated) adcnn-run -o /dev/null "$TMP/rt.adcnn" && head -c 20000 "$ready" >"$TMP/cut" && cp "$TMP/cut" "$ready" ;;
	esac
	check "run: a $bad ready form" 0 "adcnn-run -o '$TMP/rr3.adcnn' '$TMP/rt.adcnn'"
	same "run: a $bad ready form: the same results" "$TMP/rr3.adcnn" "$TMP/rr1.adcnn"
	check "run: after a $bad ready form" 0 "adcnn-run -o '$TMP/rr4.adcnn' '$TMP/rt.adcnn'"
	same "run: after a $bad ready form: the same results" "$TMP/rr4.adcnn" "$TMP/rr1.adcnn"
done
finish
