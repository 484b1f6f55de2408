#!/bin/sh
# adcnn-pack: the common options, lossless packing and -d restoring the exact result bundle,
# quantization at every bit width and clip, packed smaller than raw, adcnn-merge reading
# packed bundles, and what it refuses.
. "${top_srcdir:-.}/tests/cli/lib.sh"
M="$SHARE/models/example.onnx"
IMG="$SHARE/images/sample.png"
D="$DATA/models/detector"

# the sum of the member sizes a bundle's MANIFEST lists
member_bytes() {
	tar -xOf "$1" MANIFEST 2>/dev/null | awk '$1 == "member" { n += $3 } END { print n + 0 }'
}

adcnn-partition -m "$M" -o "$TMP/t.adcnn" "$IMG" || fail 'cannot partition'
adcnn-run -o "$TMP/r.adcnn" "$TMP/t.adcnn" || fail 'cannot run'

# The options every tool has
check 'pack --help' 0 "adcnn-pack --help"
expect_out_re '^usage: adcnn-pack ' 'pack --help: usage on stdout'
expect_empty_err 'pack --help'
check 'pack -h' 0 "adcnn-pack -h"
expect_out_re '^usage: adcnn-pack ' 'pack -h: usage on stdout'
check 'pack -V' 0 "adcnn-pack -V"
expect_out_re '^adcnn-pack ' 'pack -V: tool name'
for w in 'bundle format 1\.0' BLIS libarchive libsodium zstd protobuf-c; do
	expect_out_re "$w" "pack -V: $w"
done
expect_empty_err 'pack -V'
check 'pack: unknown option' 64 "adcnn-pack --no-such-option '$TMP/r.adcnn'"
expect_err '^usage: adcnn-pack' 'pack: unknown option: usage on stderr'
expect_out_eq '' 'pack: unknown option: nothing on stdout'
check 'pack: too many arguments' 64 "adcnn-pack '$TMP/r.adcnn' '$TMP/r.adcnn'"
expect_err 'too many arguments' 'pack: too many arguments: message'
expect_err '^usage: adcnn-pack' 'pack: too many arguments: usage'
for l in 0 20 -1 abc; do
	check "pack -L $l" 64 "adcnn-pack -L '$l' -o '$TMP/l.adcnn' '$TMP/r.adcnn'"
	expect_err "'$l'" "pack -L $l: message"
	expect_no_file "$TMP/l.adcnn" "pack -L $l"
done
check 'pack --level 20' 64 "adcnn-pack --level 20 '$TMP/r.adcnn'"
tty_refuses 'pack: bundle to a terminal' "adcnn-pack '$TMP/r.adcnn'"
tty_refuses 'pack -d: bundle to a terminal' "adcnn-pack -d '$TMP/r.adcnn'"

# Lossless: pack, then restore the exact bytes
check 'pack --lossless FILE' 0 "adcnn-pack --lossless '$TMP/r.adcnn'"
expect_empty_err 'pack --lossless FILE'
cp "$TMP/out" "$TMP/p.adcnn"
if [ "$(tar -xOf "$TMP/p.adcnn" MANIFEST 2>/dev/null | sed -n 2p)" = 'kind packed' ]; then pass; else fail 'pack: not kind packed'; fi
if [ "$(tar -tf "$TMP/p.adcnn" 2>&1 | tr '\n' ' ')" = 'MANIFEST results/r0c0.t results/r0c1.t results/r1c0.t results/r1c1.t ' ]; then pass; else fail 'pack: members' "$(tar -tf "$TMP/p.adcnn" 2>&1)"; fi
# tensor encoding 4 (byte 5 of each tensor member): exponents by rANS
if [ "$(tar -xOf "$TMP/p.adcnn" results/r0c0.t 2>/dev/null | head -c 6 | od -An -tx1 | tr -d ' \n')" = '414443540104' ]; then pass; else fail 'pack: the tensor is not ADCT version 1 encoding 4'; fi
check 'pack --lossless < FILE' 0 "adcnn-pack --lossless <'$TMP/r.adcnn'"
same 'pack: stdin and file give the same bytes' "$TMP/out" "$TMP/p.adcnn"
check 'pack --lossless -o FILE' 0 "adcnn-pack --lossless -o '$TMP/po.adcnn' '$TMP/r.adcnn'"
expect_out_eq '' 'pack -o: nothing on stdout'
same 'pack: -o and stdout give the same bytes' "$TMP/po.adcnn" "$TMP/p.adcnn"
check 'pack -d' 0 "adcnn-pack -d '$TMP/p.adcnn'"
expect_empty_err 'pack -d'
same 'pack -d restores the result bundle' "$TMP/out" "$TMP/r.adcnn"
check 'pack | pack -d' 0 "adcnn-pack --lossless <'$TMP/r.adcnn' | adcnn-pack --decompress -o '$TMP/rd.adcnn'"
same 'pack | pack -d restores the result bundle' "$TMP/rd.adcnn" "$TMP/r.adcnn"
# --coder planes: byte planes and zstd (encoding 2), at any level; larger than rANS on these
# ReLU outputs
for l in 1 19; do
	check "pack --lossless --coder planes -L $l" 0 "adcnn-pack --lossless --coder planes -L $l -o '$TMP/p$l.adcnn' '$TMP/r.adcnn'"
	if [ "$(tar -xOf "$TMP/p$l.adcnn" results/r0c0.t 2>/dev/null | head -c 6 | od -An -tx1 | tr -d ' \n')" = '414443540102' ]; then pass; else fail "pack --lossless --coder planes -L $l: the tensor is not encoding 2"; fi
	check "pack --lossless --coder planes -L $l | pack -d" 0 "adcnn-pack -d '$TMP/p$l.adcnn'"
	same "pack --lossless --coder planes -L $l: -d restores the result bundle" "$TMP/out" "$TMP/r.adcnn"
done
rans=$(member_bytes "$TMP/p.adcnn")
planes=$(member_bytes "$TMP/p19.adcnn")
if [ "$rans" -gt 0 ] && [ "$rans" -lt "$planes" ]; then pass; else fail "pack --lossless: members not smaller by rANS ($rans bytes) than by planes and zstd -19 ($planes)"; fi
check 'pack --lossless --coder bytes' 64 "adcnn-pack --lossless --coder bytes '$TMP/r.adcnn'"
expect_err '--lossless takes --coder rans or planes' 'pack --lossless --coder bytes: message'
expect_out_eq '' 'pack --lossless --coder bytes: nothing on stdout'

# Quantized, the default: 4 bits, encoding 3; the same bytes from the same input
check 'pack FILE (4 bits)' 0 "adcnn-pack '$TMP/r.adcnn'"
cp "$TMP/out" "$TMP/q.adcnn"
if [ "$(tar -xOf "$TMP/q.adcnn" results/r0c0.t 2>/dev/null | head -c 6 | od -An -tx1 | tr -d ' \n')" = '414443540103' ]; then pass; else fail 'pack: the default is not encoding 3'; fi
# byte 8 + 4*rank of the member: the bit width
if [ "$(tar -xOf "$TMP/q.adcnn" results/r0c0.t 2>/dev/null | od -An -tu1 -j24 -N1 | tr -d ' ')" = 4 ]; then pass; else fail 'pack: the default is not 4 bits'; fi
# and the next byte, the coder: rANS
if [ "$(tar -xOf "$TMP/q.adcnn" results/r0c0.t 2>/dev/null | od -An -tu1 -j25 -N1 | tr -d ' ')" = 4 ]; then pass; else fail 'pack: the default coder is not rANS'; fi
check 'pack -b 4 --clip auto' 0 "adcnn-pack -b 4 --clip auto '$TMP/r.adcnn'"
same 'pack: -b 4 --clip auto is the default' "$TMP/out" "$TMP/q.adcnn"
check 'pack < FILE (4 bits)' 0 "adcnn-pack <'$TMP/r.adcnn'"
same 'pack: stdin and file give the same bytes (4 bits)' "$TMP/out" "$TMP/q.adcnn"
for b in 1 2 3 4 5 6 7 8; do
	for c in auto none p99.9 2.5; do
		check "pack -b $b --clip $c" 0 "adcnn-pack -b $b --clip $c -o '$TMP/q$b.adcnn' '$TMP/r.adcnn'"
		check "pack -b $b --clip $c | merge" 0 "adcnn-merge -m '$M' -k 1 '$TMP/q$b.adcnn'"
	done
done
# the coders: the same codes, so merge reads the same tensor; the coder is byte 1 of the
# quantization header
adcnn-merge -m "$M" --stitched "$TMP/s-default.npy" --output /dev/null "$TMP/q.adcnn" || fail 'cannot merge the default packing'
for coder in planes:2 rans:4 bytes:1; do
	check "pack --coder ${coder%:*}" 0 "adcnn-pack --coder ${coder%:*} -o '$TMP/qc.adcnn' '$TMP/r.adcnn'"
	if [ "$(tar -xOf "$TMP/qc.adcnn" results/r0c0.t 2>/dev/null | od -An -tu1 -j25 -N1 | tr -d ' ')" = "${coder#*:}" ]; then pass; else fail "pack --coder ${coder%:*}: not coder ${coder#*:}"; fi
	check "pack --coder ${coder%:*} | merge --stitched" 0 "adcnn-merge -m '$M' --stitched '$TMP/s-coder.npy' --output /dev/null '$TMP/qc.adcnn'"
	same "pack --coder ${coder%:*}: merge reads the same tensor" "$TMP/s-coder.npy" "$TMP/s-default.npy"
done
check 'pack --coder rans -b 8 | pack -d' 0 "adcnn-pack --coder rans -b 8 '$TMP/r.adcnn' | adcnn-pack -d -o '$TMP/rd8.adcnn'"
for bad in '' x RANS zstd; do
	check "pack --coder '$bad'" 64 "adcnn-pack --coder '$bad' '$TMP/r.adcnn'"
	expect_err 'bad coder' "pack --coder '$bad': message"
done
for bad in 0 9 x; do
	check "pack -b $bad" 64 "adcnn-pack -b $bad '$TMP/r.adcnn'"
	expect_err 'bit width' "pack -b $bad: message"
done
for bad in 0 -1 x p0 p101 ''; do
	check "pack --clip '$bad'" 64 "adcnn-pack --clip '$bad' '$TMP/r.adcnn'"
done
# -d of a quantized bundle gives float32 within a quantization step of the original
# (clip none: no value is cut)
adcnn-pack -b 4 --clip none -o "$TMP/qn.adcnn" "$TMP/r.adcnn" && adcnn-pack -d -o "$TMP/qd.adcnn" "$TMP/qn.adcnn" || fail 'cannot pack -b 4 --clip none | pack -d'
adcnn-merge -m "$M" --stitched "$TMP/s-raw.npy" --output /dev/null "$TMP/r.adcnn" || fail 'cannot merge raw'
adcnn-merge -m "$M" --stitched "$TMP/s-q.npy" --output /dev/null "$TMP/qd.adcnn" || fail 'cannot merge the restored bundle'
adcnn-merge -m "$M" --stitched "$TMP/s-qn.npy" --output /dev/null "$TMP/qn.adcnn" || fail 'cannot merge the packed bundle'
same 'pack -d of a quantized bundle: merge reads the same tensor' "$TMP/s-q.npy" "$TMP/s-qn.npy"
# each tile has its own scale; a step of the largest is 1/15 of the maximum: half of it bounds the error
if msg=$(testutil cmp --rel 0.034 "$TMP/s-q.npy" "$TMP/s-raw.npy"); then pass; else fail "pack -b 4 --clip none: error beyond half a step: $msg"; fi
if testutil cmp --rel 0 "$TMP/s-q.npy" "$TMP/s-raw.npy" >/dev/null; then fail 'pack -b 4: no quantization happened'; else pass; fi

# Packed is smaller than raw: the detector's results, member by member, and as files: a
# packed bundle is zstd-compressed, which takes out the padding of the 512-byte tar blocks
# that would otherwise be most of a small tile's bytes.
adcnn-partition -m "$D/model.onnx" --mode halo "$D/input.npy" 2>/dev/null | adcnn-run -o "$TMP/dr.adcnn" || fail 'cannot run the detector'
for mode in --lossless -b8 -b4 -b2; do
	check "pack $mode: detector" 0 "adcnn-pack $mode -o '$TMP/dp.adcnn' '$TMP/dr.adcnn'"
	raw=$(member_bytes "$TMP/dr.adcnn")
	packed=$(member_bytes "$TMP/dp.adcnn")
	if [ "$raw" -gt 0 ] && [ "$packed" -gt 0 ] && [ "$packed" -lt "$raw" ]; then pass; else fail "pack $mode: detector members not smaller packed ($packed bytes) than raw ($raw bytes)"; fi
	[ "$mode" = -b4 ] && if [ $((packed * 6)) -lt "$raw" ]; then pass; else fail "pack -b 4: detector members not a sixth of raw ($packed of $raw bytes)"; fi
	if [ "$mode" = -b4 ]; then
		adcnn-pack -b4 --coder planes -o "$TMP/dpp.adcnn" "$TMP/dr.adcnn" || fail 'cannot pack the detector with planes'
		planes=$(member_bytes "$TMP/dpp.adcnn")
		if [ "$packed" -gt 0 ] && [ "$packed" -lt "$planes" ]; then pass; else fail "pack -b 4: detector members not smaller with rans ($packed bytes) than with planes ($planes)"; fi
	fi
	raw=$(wc -c <"$TMP/dr.adcnn")
	packed=$(wc -c <"$TMP/dp.adcnn")
	[ "$mode" = -b4 ] && if [ $((packed * 6)) -lt "$raw" ]; then pass; else fail "pack -b 4: detector bundle not a sixth of raw ($packed of $raw bytes)"; fi
done
if [ "$(head -c 4 "$TMP/dp.adcnn" | od -An -tx1 | tr -d ' \n')" = 28b52ffd ]; then pass; else fail 'pack: the packed bundle is not a zstd stream'; fi
if [ "$(head -c 4 "$TMP/dr.adcnn" | od -An -tx1 | tr -d ' \n')" != 28b52ffd ]; then pass; else fail 'run: a result bundle is compressed'; fi
adcnn-pack --lossless -o "$TMP/dp.adcnn" "$TMP/dr.adcnn" || fail 'cannot pack the detector'
check 'pack -d: detector' 0 "adcnn-pack -d '$TMP/dp.adcnn'"
same 'pack -d restores the detector results' "$TMP/out" "$TMP/dr.adcnn"
adcnn-partition -m "$D/model.onnx" -g 1x1 "$D/input.npy" 2>/dev/null | adcnn-run -o "$TMP/dr1.adcnn" || fail 'cannot run the detector 1x1'
check 'pack: detector 1x1' 0 "adcnn-pack -o '$TMP/dp1.adcnn' '$TMP/dr1.adcnn'"
raw=$(wc -c <"$TMP/dr1.adcnn")
packed=$(wc -c <"$TMP/dp1.adcnn")
if [ "$packed" -lt "$raw" ]; then pass; else fail "pack: detector 1x1 bundle not smaller packed ($packed bytes) than raw ($raw bytes)"; fi

# adcnn-merge reads packed bundles directly
check 'merge raw' 0 "adcnn-merge -m '$M' '$TMP/r.adcnn'"
cp "$TMP/out" "$TMP/top-raw"
check 'merge packed' 0 "adcnn-merge -m '$M' '$TMP/p.adcnn'"
same 'merge: packed and raw give the same top-k' "$TMP/out" "$TMP/top-raw"
if [ "$(wc -l <"$TMP/out")" -eq 5 ]; then pass; else fail 'merge packed: not 5 lines'; fi
check 'merge packed on stdin' 0 "adcnn-merge -m '$M' - <'$TMP/p.adcnn'"
same 'merge: packed on stdin, same top-k' "$TMP/out" "$TMP/top-raw"
# one packed bundle per tile, from files and as one stream; a stream may not mix packed and not
adcnn-partition -m "$M" -O "$TMP/fan" "$IMG" || fail 'cannot fan out'
for id in r0c0 r0c1 r1c0 r1c1; do
	adcnn-run "$TMP/fan/$id.adcnn" | adcnn-pack --lossless -o "$TMP/fan/$id.pk" || fail "cannot run and pack $id"
done
check 'merge: packed tiles, files' 0 "adcnn-merge -m '$M' '$TMP/fan/r1c1.pk' '$TMP/fan/r0c0.pk' '$TMP/fan/r1c0.pk' '$TMP/fan/r0c1.pk'"
same 'merge: packed tiles from files, same top-k' "$TMP/out" "$TMP/top-raw"
check 'merge: packed tiles, one stream' 0 "cat '$TMP/fan/r1c1.pk' '$TMP/fan/r0c0.pk' '$TMP/fan/r1c0.pk' '$TMP/fan/r0c1.pk' | adcnn-merge -m '$M'"
same 'merge: packed tiles in one stream, same top-k' "$TMP/out" "$TMP/top-raw"
adcnn-run -o "$TMP/fan/r0c0.res" "$TMP/fan/r0c0.adcnn" || fail 'cannot run r0c0'
for order in "r0c0.res r0c1.pk" "r0c1.pk r0c0.res"; do
	set -- $order
	check "merge: a stream of $1 and $2" 65 "cat '$TMP/fan/$1' '$TMP/fan/$2' | adcnn-merge -m '$M'"
	expect_err 'all packed or all not' "merge: a stream of $1 and $2: message"
done
check 'merge: packed and not, files' 0 "adcnn-merge -m '$M' '$TMP/fan/r0c0.res' '$TMP/fan/r0c1.pk' '$TMP/fan/r1c0.pk' '$TMP/fan/r1c1.pk'"
same 'merge: packed and not from files, same top-k' "$TMP/out" "$TMP/top-raw"
check 'merge detector raw' 0 "adcnn-merge -m '$D/model.onnx' --output '$TMP/draw.npy' '$TMP/dr.adcnn'"
check 'merge detector packed' 0 "adcnn-merge -m '$D/model.onnx' --output '$TMP/dpacked.npy' '$TMP/dp.adcnn'"
same 'merge: detector packed and raw give the same output' "$TMP/dpacked.npy" "$TMP/draw.npy"
check 'merge detector packed at 8 bits' 0 "adcnn-pack -b 8 '$TMP/dr.adcnn' | adcnn-merge -m '$D/model.onnx' --output '$TMP/dq.npy' -"
if msg=$(testutil cmp --rel 0.01 "$TMP/dq.npy" "$TMP/draw.npy"); then pass; else fail "merge: detector at 8 bits: $msg"; fi

# What it refuses
check 'pack: a tile bundle' 65 "adcnn-pack -o '$TMP/pt.adcnn' '$TMP/t.adcnn'"
expect_err '^adcnn-pack: .*tile bundle' 'pack: a tile bundle: message'
expect_no_file "$TMP/pt.adcnn" 'pack: a tile bundle'
check 'pack: a tile bundle on stdin' 65 "adcnn-pack <'$TMP/t.adcnn'"
expect_out_eq '' 'pack: a tile bundle on stdin: nothing on stdout'
check 'pack -d: a tile bundle' 65 "adcnn-pack -d -o '$TMP/pdt.adcnn' '$TMP/t.adcnn'"
expect_err 'tile bundle' 'pack -d: a tile bundle: message'
expect_no_file "$TMP/pdt.adcnn" 'pack -d: a tile bundle'
printf 'old\n' >"$TMP/keep.adcnn"
check 'pack: failure with an existing -o file' 65 "adcnn-pack -o '$TMP/keep.adcnn' '$TMP/t.adcnn'"
if [ "$(cat "$TMP/keep.adcnn")" = old ]; then pass; else fail 'pack: a failure changed the existing -o file'; fi
check 'pack: nonexistent bundle' 66 "adcnn-pack -o '$TMP/ne.adcnn' '$TMP/nonexistent.adcnn'"
expect_err "'$TMP/nonexistent.adcnn'" 'pack: nonexistent bundle: message'
expect_no_file "$TMP/ne.adcnn" 'pack: nonexistent bundle'
check 'pack: -o in a missing directory' 74 "adcnn-pack -o '$TMP/no/such/dir/p.adcnn' '$TMP/r.adcnn'"
finish
