#!/bin/sh
# adcnn-partition: the common options, the plan (-n) for the example model, the bundles it
# writes (-o, -O, --embed-model) and their determinism, and the inputs and options it refuses.
. "${top_srcdir:-.}/tests/cli/lib.sh"
M="$SHARE/models/example.onnx"
IMG="$SHARE/images/sample.png"
R="$DATA/models/resnet"

# The options every tool has
check 'partition --help' 0 "adcnn-partition --help"
expect_out_re '^usage: adcnn-partition ' 'partition --help: usage on stdout'
expect_empty_err 'partition --help'
check 'partition -h' 0 "adcnn-partition -h"
expect_out_re '^usage: adcnn-partition ' 'partition -h: usage on stdout'
expect_empty_err 'partition -h'
check 'partition -V' 0 "adcnn-partition -V"
expect_out_re '^adcnn-partition ' 'partition -V: tool name'
for w in 'bundle format 1\.0' BLIS libarchive libsodium zstd protobuf-c; do
	expect_out_re "$w" "partition -V: $w"
done
expect_empty_err 'partition -V'
check 'partition --version' 0 "adcnn-partition --version"
expect_out_re 'bundle format 1\.0' 'partition --version'
check 'partition: unknown option' 64 "adcnn-partition --no-such-option -m '$M' '$IMG'"
expect_err '^usage: adcnn-partition' 'partition: unknown option: usage on stderr'
expect_out_eq '' 'partition: unknown option: nothing on stdout'
check 'partition: unknown short option' 64 "adcnn-partition -Z -m '$M' '$IMG'"
expect_err '^usage: adcnn-partition' 'partition -Z: usage on stderr'
check 'partition: too many arguments' 64 "adcnn-partition -m '$M' '$IMG' '$IMG'"
expect_err 'too many arguments' 'partition: too many arguments: message'
expect_err '^usage: adcnn-partition' 'partition: too many arguments: usage'
expect_out_eq '' 'partition: too many arguments: nothing on stdout'
tty_refuses 'partition: bundle to a terminal' "adcnn-partition -m '$M' '$IMG'"

# The plan, checked by hand: split 16x16 of a 64x64 input, total stride 4; rows and columns
# split as evenly as possible, larger tiles first (16 in 3 = 6+5+5)
plan22='plan fdsp grid 2 2 split /features/features.10/Relu_output_0 1 64 16 16
tile r0c0 in 0 32 0 32 out 0 8 0 8 halo 0 0 0 0
tile r0c1 in 0 32 32 64 out 0 8 8 16 halo 0 0 0 0
tile r1c0 in 32 64 0 32 out 8 16 0 8 halo 0 0 0 0
tile r1c1 in 32 64 32 64 out 8 16 8 16 halo 0 0 0 0'
check 'plan: default grid' 0 "adcnn-partition -n -m '$M' '$IMG'"
expect_out_eq "$plan22" 'plan: default grid'
expect_empty_err 'plan: default grid'
check 'plan: -g 2x2' 0 "adcnn-partition --dry-run -g 2x2 -m '$M' '$IMG'"
expect_out_eq "$plan22" 'plan: -g 2x2'
check 'plan: 1x1' 0 "adcnn-partition -n -g 1x1 -m '$M' '$IMG'"
expect_out_eq 'plan fdsp grid 1 1 split /features/features.10/Relu_output_0 1 64 16 16
tile r0c0 in 0 64 0 64 out 0 16 0 16 halo 0 0 0 0' 'plan: 1x1'
check 'plan: 3x3' 0 "adcnn-partition -n -g 3x3 -m '$M' '$IMG'"
expect_out_eq 'plan fdsp grid 3 3 split /features/features.10/Relu_output_0 1 64 16 16
tile r0c0 in 0 24 0 24 out 0 6 0 6 halo 0 0 0 0
tile r0c1 in 0 24 24 44 out 0 6 6 11 halo 0 0 0 0
tile r0c2 in 0 24 44 64 out 0 6 11 16 halo 0 0 0 0
tile r1c0 in 24 44 0 24 out 6 11 0 6 halo 0 0 0 0
tile r1c1 in 24 44 24 44 out 6 11 6 11 halo 0 0 0 0
tile r1c2 in 24 44 44 64 out 6 11 11 16 halo 0 0 0 0
tile r2c0 in 44 64 0 24 out 11 16 0 6 halo 0 0 0 0
tile r2c1 in 44 64 24 44 out 11 16 6 11 halo 0 0 0 0
tile r2c2 in 44 64 44 64 out 11 16 11 16 halo 0 0 0 0' 'plan: 3x3'
cp "$TMP/out" "$TMP/plan33"
check 'plan: 1x4' 0 "adcnn-partition -n -g 1x4 -m '$M' '$IMG'"
expect_out_eq 'plan fdsp grid 1 4 split /features/features.10/Relu_output_0 1 64 16 16
tile r0c0 in 0 64 0 16 out 0 16 0 4 halo 0 0 0 0
tile r0c1 in 0 64 16 32 out 0 16 4 8 halo 0 0 0 0
tile r0c2 in 0 64 32 48 out 0 16 8 12 halo 0 0 0 0
tile r0c3 in 0 64 48 64 out 0 16 12 16 halo 0 0 0 0' 'plan: 1x4'
check 'plan: the largest grid that fits, 16x16' 0 "adcnn-partition -n -g 16x16 -m '$M' '$IMG'"
if [ "$(grep -c '^tile ' "$TMP/out")" -eq 256 ]; then pass; else fail 'plan 16x16: not 256 tile lines'; fi
# a tensor input plans like the image it was made from
check 'plan: .npy input' 0 "adcnn-partition -n -m '$M' '$SHARE/images/sample_input.npy'"
expect_out_eq "$plan22" 'plan: .npy input'
check 'plan: input on stdin' 0 "adcnn-partition -n -m '$M' - <'$IMG'"
expect_out_eq "$plan22" 'plan: input on stdin'

# Halo mode: the receptive field of conv3x3-pool2-conv3x3-pool2-conv3x3 reaches 7 input rows
# past a tile's edge; no halo at the image borders
check 'plan: halo 2x2' 0 "adcnn-partition -n --mode halo -m '$M' '$IMG'"
expect_out_eq 'plan halo grid 2 2 split /features/features.10/Relu_output_0 1 64 16 16
tile r0c0 in 0 39 0 39 out 0 8 0 8 halo 0 7 0 7
tile r0c1 in 0 39 25 64 out 0 8 8 16 halo 0 7 7 0
tile r1c0 in 25 64 0 39 out 8 16 0 8 halo 7 0 0 7
tile r1c1 in 25 64 25 64 out 8 16 8 16 halo 7 0 7 0' 'plan: halo 2x2'
check 'plan: halo 3x3' 0 "adcnn-partition -n --mode halo -g 3x3 -m '$M' '$IMG'"
# halo 3x3: each side's halo is non-zero exactly inside the image, the same output regions as
# fdsp, and the region before growing is the fdsp tile's
if awk '
	NR == FNR { if ($1 == "tile") { r0[$2] = $4; r1[$2] = $5; c0[$2] = $6; c1[$2] = $7; o[$2] = $9 " " $10 " " $11 " " $12 } next }
	$1 == "plan" { if ($2 != "halo") bad = 1; next }
	{
		n++
		t = $14; b = $15; l = $16; r = $17
		if ((t > 0) != ($4 > 0) || (b > 0) != ($5 < 64) || (l > 0) != ($6 > 0) || (r > 0) != ($7 < 64)) bad = 1
		if ($4 + t != r0[$2] || $5 - b != r1[$2] || $6 + l != c0[$2] || $7 - r != c1[$2]) bad = 1
		if ($9 " " $10 " " $11 " " $12 != o[$2]) bad = 1
	}
	END { exit bad || n != 9 }' "$TMP/plan33" "$TMP/out"; then
	pass
else
	fail 'plan: halo 3x3 does not grow the fdsp tiles by halos inside the image' "$(cat "$TMP/out")"
fi

# Bundles
check 'partition -o FILE' 0 "adcnn-partition -m '$M' -o '$TMP/a.adcnn' '$IMG'"
expect_out_eq '' 'partition -o: nothing on stdout'
expect_empty_err 'partition -o'
if [ -s "$TMP/a.adcnn" ]; then pass; else fail 'partition -o: no bundle written'; fi
if [ "$(tar -tf "$TMP/a.adcnn" 2>&1)" = 'MANIFEST
tiles/r0c0.t
tiles/r0c1.t
tiles/r1c0.t
tiles/r1c1.t' ]; then pass; else fail 'partition -o: unexpected members' "$(tar -tf "$TMP/a.adcnn" 2>&1)"; fi
tar -xOf "$TMP/a.adcnn" MANIFEST >"$TMP/manifest" 2>/dev/null
if [ "$(sed -n 1,2p "$TMP/manifest")" = 'adcnn-bundle 1.0
kind tiles' ]; then pass; else fail 'partition -o: MANIFEST does not start with version and kind' "$(head -n 3 "$TMP/manifest")"; fi
if [ "$(grep -E '^(mode|input|split|grid|tile) ' "$TMP/manifest")" = 'mode fdsp
input input 1 1 64 64
split /features/features.10/Relu_output_0 1 64 16 16
grid 2 2
tile r0c0 in 0 32 0 32 out 0 8 0 8 halo 0 0 0 0
tile r0c1 in 0 32 32 64 out 0 8 8 16 halo 0 0 0 0
tile r1c0 in 32 64 0 32 out 8 16 0 8 halo 0 0 0 0
tile r1c1 in 32 64 32 64 out 8 16 8 16 halo 0 0 0 0' ]; then pass; else fail 'partition -o: MANIFEST plan lines' "$(cat "$TMP/manifest")"; fi
if [ "$(grep -cE '^(model|prefix|job) [0-9a-f]{64}$' "$TMP/manifest")" -eq 3 ]; then pass; else fail 'partition -o: MANIFEST hashes' "$(cat "$TMP/manifest")"; fi
check 'partition to stdout' 0 "adcnn-partition -m '$M' '$IMG'"
same 'partition: stdout and -o give the same bytes' "$TMP/out" "$TMP/a.adcnn"
check 'partition -o FILE, again' 0 "adcnn-partition -m '$M' -o '$TMP/b.adcnn' '$IMG'"
same 'partition: the same inputs give the same bundle' "$TMP/a.adcnn" "$TMP/b.adcnn"
check 'partition: input on stdin' 0 "adcnn-partition -m '$M' -o '$TMP/c.adcnn' - <'$IMG'"
same 'partition: input on stdin gives the same bundle' "$TMP/a.adcnn" "$TMP/c.adcnn"
check 'partition: halo bundle' 0 "adcnn-partition --mode halo -g 3x3 -m '$M' -o '$TMP/h1.adcnn' '$IMG'"
check 'partition: halo bundle, again' 0 "adcnn-partition --mode halo -g 3x3 -m '$M' -o '$TMP/h2.adcnn' '$IMG'"
same 'partition: halo bundles are deterministic' "$TMP/h1.adcnn" "$TMP/h2.adcnn"
if cmp -s "$TMP/a.adcnn" "$TMP/h1.adcnn"; then fail 'partition: halo 3x3 and fdsp 2x2 bundles are the same'; else pass; fi
# the prefix is cached for adcnn-run on this host
prefix=$(sed -n 's/^prefix //p' "$TMP/manifest")
if [ -n "$prefix" ] && [ -f "$XDG_CACHE_HOME/adcnn/models/$prefix" ]; then pass; else fail "partition: prefix '$prefix' not in the cache" "$(ls -R "$XDG_CACHE_HOME" 2>&1)"; fi

# --embed-model: the prefix goes into the bundle as model/PREFIX.onnx
check 'partition --embed-model' 0 "adcnn-partition --embed-model -m '$M' -o '$TMP/e1.adcnn' '$IMG'"
if [ "$(tar -tf "$TMP/e1.adcnn" 2>&1 | grep '^model/')" = "model/$prefix.onnx" ]; then pass; else fail 'partition --embed-model: no model/PREFIX.onnx member' "$(tar -tf "$TMP/e1.adcnn" 2>&1)"; fi
check 'partition --embed-model, again' 0 "adcnn-partition --embed-model -m '$M' -o '$TMP/e2.adcnn' '$IMG'"
same 'partition --embed-model: deterministic' "$TMP/e1.adcnn" "$TMP/e2.adcnn"

# -O DIR: one bundle per tile, each listing every tile and holding one
check 'partition -O DIR' 0 "adcnn-partition -m '$M' -O '$TMP/fan' '$IMG'"
expect_out_eq '' 'partition -O: nothing on stdout'
if [ "$(cd "$TMP/fan" 2>/dev/null && ls)" = 'r0c0.adcnn
r0c1.adcnn
r1c0.adcnn
r1c1.adcnn' ]; then pass; else fail 'partition -O: unexpected files' "$(ls "$TMP/fan" 2>&1)"; fi
for id in r0c0 r0c1 r1c0 r1c1; do
	f="$TMP/fan/$id.adcnn"
	if [ "$(tar -tf "$f" 2>&1 | tr '\n' ' ')" = "MANIFEST tiles/$id.t " ]; then pass; else fail "partition -O: $id.adcnn members" "$(tar -tf "$f" 2>&1)"; fi
	if [ "$(tar -xOf "$f" MANIFEST 2>/dev/null | grep -c '^tile ')" -eq 4 ]; then pass; else fail "partition -O: $id.adcnn does not list the 4 tiles"; fi
	if [ "$(tar -xOf "$f" MANIFEST 2>/dev/null | sed -n 's/^job //p')" = "$(sed -n 's/^job //p' "$TMP/manifest")" ]; then pass; else fail "partition -O: $id.adcnn is not the job of the single bundle"; fi
done
check 'partition -O DIR, again' 0 "adcnn-partition -m '$M' -O '$TMP/fan2' '$IMG'"
for id in r0c0 r0c1 r1c0 r1c1; do
	same "partition -O: $id deterministic" "$TMP/fan/$id.adcnn" "$TMP/fan2/$id.adcnn"
done
check 'partition -O DIR, 1x4' 0 "adcnn-partition -g 1x4 -m '$M' -O '$TMP/fan14' '$IMG'"
if [ "$(cd "$TMP/fan14" 2>/dev/null && ls | tr '\n' ' ')" = 'r0c0.adcnn r0c1.adcnn r0c2.adcnn r0c3.adcnn ' ]; then pass; else fail 'partition -O 1x4: unexpected files' "$(ls "$TMP/fan14" 2>&1)"; fi
check 'partition: -o and -O together' 64 "adcnn-partition -m '$M' -o '$TMP/x.adcnn' -O '$TMP/xdir' '$IMG'"
expect_no_file "$TMP/x.adcnn" 'partition: -o and -O together'

# Image formats: a PNG (above), and a PGM made here; both are resized to the model's 64x64
{ printf 'P5\n8 8\n255\n'; head -c 64 /dev/zero | tr '\0' '\200'; } >"$TMP/grey.pgm"
check 'partition: PGM input' 0 "adcnn-partition -n -m '$M' '$TMP/grey.pgm'"
expect_out_eq "$plan22" 'partition: PGM input'

# What it refuses
check 'partition: no -m' 64 "adcnn-partition '$IMG'"
expect_err '-m' 'partition: no -m: message'
expect_err '^usage:' 'partition: no -m: usage'
check 'partition: nonexistent model' 66 "adcnn-partition -m '$TMP/nonexistent.onnx' '$IMG'"
expect_err "^adcnn-partition: .*'$TMP/nonexistent.onnx'" 'partition: nonexistent model: message'
expect_out_eq '' 'partition: nonexistent model: nothing on stdout'
check 'partition: nonexistent input' 66 "adcnn-partition -m '$M' -o '$TMP/n.adcnn' '$TMP/nonexistent.png'"
expect_err "^adcnn-partition: .*'$TMP/nonexistent.png'" 'partition: nonexistent input: message'
expect_no_file "$TMP/n.adcnn" 'partition: nonexistent input'
for g in 0x2 2x0 abc 2x 2x2x2 -1x2; do
	check "partition: bad grid '$g'" 64 "adcnn-partition -n -g '$g' -m '$M' '$IMG'"
	expect_err "grid '$g'" "partition: bad grid '$g': message"
done
for g in 17x17 1x17 17x1; do
	check "partition: grid $g bigger than the 16x16 split tensor" 64 "adcnn-partition -n -g $g -m '$M' '$IMG'"
	expect_err "$g" "partition: grid $g: message"
	expect_out_eq '' "partition: grid $g: no plan"
done
check 'partition: bad mode' 64 "adcnn-partition -n --mode exact -m '$M' '$IMG'"
expect_err "'exact'" 'partition: bad mode: message'
check 'partition: --split unknown' 65 "adcnn-partition -n --split no/such/tensor -m '$M' '$IMG'"
expect_err "'no/such/tensor'" 'partition: --split unknown: message names it'
# resnet: the output of a block's first conv (+BN+ReLU) is crossed by the skip connection too
check 'partition: --split inside a residual block (tensor)' 65 "adcnn-partition -n --split /features/features.2/relu/Relu_output_0 -m '$R/model.onnx' '$R/input.npy'"
expect_err 'not a single tensor' 'partition: --split inside a residual block (tensor): message'
expect_out_eq '' 'partition: --split inside a residual block: no plan'
check 'partition: --split inside a residual block (node)' 65 "adcnn-partition -n --split /features/features.2/relu/Relu -m '$R/model.onnx' '$R/input.npy'"
expect_err 'not a single tensor' 'partition: --split inside a residual block (node): message'
# the block's output is a single tensor
check 'partition: --split at the end of a residual block' 0 "adcnn-partition -n --split /features/features.2/relu_1/Relu_output_0 -m '$R/model.onnx' '$R/input.npy'"
expect_out_re '^plan fdsp grid 2 2 split /features/features\.2/relu_1/Relu_output_0 1 16 32 32$' 'partition: --split at the end of a residual block'
check 'partition: --split at a node name' 0 "adcnn-partition -n --split /features/features.2/relu_1/Relu -m '$R/model.onnx' '$R/input.npy'"
expect_out_re '^plan fdsp grid 2 2 split /features/features\.2/relu_1/Relu_output_0 1 16 32 32$' 'partition: --split at a node name'
# inputs that do not fit the model
mknpy "$TMP/rgb64.npy" '<f4' '(1, 3, 64, 64)' 49152
check 'partition: input shape [1,3,64,64] for a 1x1x64x64 model' 65 "adcnn-partition -m '$M' -o '$TMP/s.adcnn' '$TMP/rgb64.npy'"
expect_err 'shape' 'partition: input shape: message'
expect_no_file "$TMP/s.adcnn" 'partition: input shape'
check 'partition: input shape [1,3,64,64] for resnet (128x128)' 65 "adcnn-partition -n -m '$R/model.onnx' '$TMP/rgb64.npy'"
expect_err 'shape' 'partition: input shape (resnet): message'
mknpy "$TMP/f64.npy" '<f8' '(1, 1, 64, 64)' 32768
check 'partition: float64 .npy' 65 "adcnn-partition -n -m '$M' '$TMP/f64.npy'"
expect_err 'float32|f4' 'partition: float64 .npy: message'
head -c 100 "$IMG" >"$TMP/trunc.png"
check 'partition: truncated PNG' 65 "adcnn-partition -m '$M' -o '$TMP/t.adcnn' '$TMP/trunc.png'"
expect_err 'PNG' 'partition: truncated PNG: message'
expect_no_file "$TMP/t.adcnn" 'partition: truncated PNG'
check 'partition: garbage input' 65 "printf 'not an image at all' | adcnn-partition -m '$M' -o '$TMP/g.adcnn' -"
expect_no_file "$TMP/g.adcnn" 'partition: garbage input'
check 'partition: a PNG as the model' 65 "adcnn-partition -n -m '$IMG' '$IMG'"
expect_err 'ONNX' 'partition: a PNG as the model: message'
head -c 5000 "$M" >"$TMP/trunc.onnx"
check 'partition: truncated model' 65 "adcnn-partition -n -m '$TMP/trunc.onnx' '$IMG'"
check 'partition: -o in a missing directory' 74 "adcnn-partition -m '$M' -o '$TMP/no/such/dir/a.adcnn' '$IMG'"
expect_err "cannot write '$TMP/no/such/dir/a.adcnn'" 'partition: -o in a missing directory: message'
# -v: each tile's FLOPs; fdsp tiles add up to the unpartitioned prefix, halo tiles to more
for m in resnet vgg mobilenet squeezenet detector; do
	check "partition -v $m fdsp 3x3" 0 "adcnn-partition -v -n -m '$DATA/models/$m/model.onnx' -g 3x3 '$DATA/models/$m/input.npy'"
	expect_err '^flops tiles ([0-9]+) whole \1 overhead 0\.00%$' "partition -v $m fdsp 3x3: tiles add up to the whole"
	if [ "$(grep -c '^flops r[0-9]c[0-9] [1-9][0-9]*$' "$TMP/err")" -eq 9 ]; then pass; else fail "partition -v $m: not 9 tile FLOP lines" "$(cat "$TMP/err")"; fi
	check "partition -v $m halo 3x3" 0 "adcnn-partition -v -n --mode halo -m '$DATA/models/$m/model.onnx' -g 3x3 '$DATA/models/$m/input.npy'"
	expect_err '^flops tiles [0-9]+ whole [0-9]+ overhead [1-9][0-9.]*%$' "partition -v $m halo 3x3: an overhead"
done
check 'partition -v halo 1x1: no overhead' 0 "adcnn-partition -v -n --mode halo -m '$DATA/models/vgg/model.onnx' -g 1x1 '$DATA/models/vgg/input.npy'"
expect_err '^flops tiles 93192192 whole 93192192 overhead 0\.00%$' 'partition -v halo 1x1: the FLOPs of vgg'
finish
