#!/bin/sh
# Bad input to adcnn-run, adcnn-pack and adcnn-merge: truncated bundles, garbage, an empty
# stream, another format version, changed members (with and without their hashes fixed up),
# a bad embedded or cached model, bundles of the wrong kind or model. Each is refused with
# status 65 and a message naming the problem, and leaves no output file behind.
. "${top_srcdir:-.}/tests/cli/lib.sh"
M="$SHARE/models/example.onnx"
IMG="$SHARE/images/sample.png"

# unpack BUNDLE DIR: extract BUNDLE into a new DIR
unpack() {
	rm -rf "$2" && mkdir -p "$2" && tar -xf "$1" -C "$2"
}
# repack DIR BUNDLE: MANIFEST first, then the members in the MANIFEST's order, as they are
repack() {
	(cd "$1" && tar --format=pax -cf "$2" MANIFEST $(sed -n 's/^member \([^ ]*\) .*/\1/p' MANIFEST))
}
# forge DIR BUNDLE: repack with the member sizes and hashes in MANIFEST made to match
forge() {
	(
		cd "$1" || exit 1
		sed '/^member /d' MANIFEST >MANIFEST.new
		for p in $(sed -n 's/^member \([^ ]*\) .*/\1/p' MANIFEST); do
			printf 'member %s %s %s\n' "$p" "$(wc -c <"$p" | tr -d ' ')" "$(b2sum -l 256 "$p" | cut -d ' ' -f 1)"
		done >>MANIFEST.new
		mv MANIFEST.new MANIFEST
	) && repack "$1" "$2"
}
# poke FILE OFFSET OCTAL...: overwrite bytes of FILE at OFFSET, e.g. poke f 6 '\011'
poke() {
	f=$1
	o=$2
	shift 2
	printf "$@" | dd of="$f" bs=1 seek="$o" conv=notrunc 2>/dev/null
}
# cut FILE N: keep the first N bytes of FILE
cutto() {
	head -c "$2" "$1" >"$1.cut" && mv "$1.cut" "$1"
}

# refused NAME CMD OUT REGEX...: CMD exits 65, with stderr matching each REGEX, nothing on
# stdout, and no OUT (or none of its temporaries) left behind
refused() {
	r_name=$1
	r_out=$3
	check "$1" 65 "$2"
	shift 3
	expect_err '^adcnn-(run|pack|merge): ' "$r_name: a message of the tool's"
	for r_re in "$@"; do
		expect_err "$r_re" "$r_name: message"
	done
	expect_out_eq '' "$r_name: nothing on stdout"
	if [ -n "$r_out" ]; then
		expect_no_file "$r_out" "$r_name"
		rm -f "$r_out" "$r_out".tmp.*
	fi
	return 0
}

# Good bundles to spoil: tiles (t), tiles with the model (e), results (r), packed results (p)
adcnn-partition -m "$M" -o "$TMP/t.adcnn" "$IMG" || fail 'cannot partition'
adcnn-partition -m "$M" --embed-model -o "$TMP/e.adcnn" "$IMG" || fail 'cannot partition --embed-model'
adcnn-run -o "$TMP/r.adcnn" "$TMP/t.adcnn" || fail 'cannot run'
adcnn-pack -o "$TMP/p.adcnn" "$TMP/r.adcnn" || fail 'cannot pack'
O="$TMP/o.adcnn"
N="$TMP/o.npy"

# Truncated bundles: inside the MANIFEST, inside a member, one block short
for n in 1000 half short; do
	for b in t r p; do
		size=$(wc -c <"$TMP/$b.adcnn")
		case $n in
		half) k=$((size / 2)) ;;
		short) k=$((size - 2048)) ;;
		*) k=$n ;;
		esac
		head -c "$k" "$TMP/$b.adcnn" >"$TMP/$b-$n.adcnn"
	done
	refused "run: truncated at $n" "adcnn-run -o '$O' '$TMP/t-$n.adcnn'" "$O" '^adcnn-run: .*[Tt]runcated'
	refused "run: truncated at $n, stdin" "adcnn-run <'$TMP/t-$n.adcnn'" '' '[Tt]runcated'
	refused "pack: truncated at $n" "adcnn-pack -o '$O' '$TMP/r-$n.adcnn'" "$O" '^adcnn-pack: .*[Tt]runcated'
	refused "pack -d: truncated at $n" "adcnn-pack -d -o '$O' '$TMP/p-$n.adcnn'" "$O" '^adcnn-pack: .*[Tt]runcated'
	refused "merge: truncated at $n" "adcnn-merge -m '$M' '$TMP/r-$n.adcnn'" '' '^adcnn-merge: .*[Tt]runcated'
	refused "merge: truncated at $n, packed" "adcnn-merge -m '$M' --output '$N' '$TMP/p-$n.adcnn'" "$N" '^adcnn-merge: .*[Tt]runcated'
	refused "merge: truncated at $n, stdin" "cat '$TMP/r-$n.adcnn' | adcnn-merge -m '$M' -" '' '[Tt]runcated'
done
# the last of several concatenated bundles truncated
adcnn-partition -m "$M" -O "$TMP/fan" "$IMG" || fail 'cannot fan out'
for id in r0c0 r0c1 r1c0 r1c1; do
	adcnn-run -o "$TMP/fan/$id.res" "$TMP/fan/$id.adcnn" || fail "cannot run $id"
done
head -c 3000 "$TMP/fan/r1c1.res" >"$TMP/r1c1-cut.res"
refused 'merge: the last bundle of a stream truncated' "cat '$TMP/fan/r0c0.res' '$TMP/fan/r0c1.res' '$TMP/fan/r1c0.res' '$TMP/r1c1-cut.res' | adcnn-merge -m '$M' -" '' '[Tt]runcated'
head -c 100 "$TMP/t.adcnn" >"$TMP/t-100.adcnn"
refused 'run: the first 100 bytes of a bundle' "adcnn-run -o '$O' '$TMP/t-100.adcnn'" "$O" 'not a bundle|[Tt]runcated'

# Garbage, an empty stream, archives that are no bundles
printf 'adcnn-bundle 1.0\nkind tiles\nthis is not a tar archive\n' >"$TMP/text"
head -c 1000 /dev/urandom >"$TMP/random"
head -c 10240 /dev/zero >"$TMP/emptytar"
mkdir "$TMP/plain" && printf 'hello\n' >"$TMP/plain/README" && (cd "$TMP/plain" && tar --format=pax -cf ../plain.tar README)
for tool in run pack 'pack -d' merge; do
	cmd="adcnn-$tool"
	[ "$tool" = merge ] && cmd="adcnn-merge -m '$M'"
	o="-o '$O'"
	[ "$tool" = merge ] && o="--output '$N'"
	out=$O
	[ "$tool" = merge ] && out=$N
	refused "$tool: garbage text on stdin" "$cmd $o <'$TMP/text'" "$out" "^adcnn-${tool%% *}: .*not a bundle"
	refused "$tool: random bytes on stdin" "head -c 1000 /dev/urandom | $cmd $o" "$out" "^adcnn-${tool%% *}: .*not a bundle"
	refused "$tool: random bytes from a file" "$cmd $o '$TMP/random'" "$out" "$TMP/random.*not a bundle"
	refused "$tool: empty stdin" "$cmd $o </dev/null" "$out" "^adcnn-${tool%% *}: .*(not a bundle|empty)"
	refused "$tool: empty stdin, -" "printf '' | $cmd $o -" "$out" "(not a bundle|empty)"
	refused "$tool: an empty tar archive" "$cmd $o <'$TMP/emptytar'" "$out" 'MANIFEST|empty'
	refused "$tool: a tar archive with no MANIFEST" "$cmd $o '$TMP/plain.tar'" "$out" 'MANIFEST'
done

# Another major version of the format; a minor one is read
for b in t r p; do
	unpack "$TMP/$b.adcnn" "$TMP/x$b"
	sed '1s/.*/adcnn-bundle 2.0/' "$TMP/x$b/MANIFEST" >"$TMP/x$b/M" && mv "$TMP/x$b/M" "$TMP/x$b/MANIFEST"
	repack "$TMP/x$b" "$TMP/$b-v2.adcnn"
	sed '1s/.*/adcnn-bundle 1.7/' "$TMP/x$b/MANIFEST" >"$TMP/x$b/M" && mv "$TMP/x$b/M" "$TMP/x$b/MANIFEST"
	repack "$TMP/x$b" "$TMP/$b-v17.adcnn"
done
refused 'run: bundle format 2.0' "adcnn-run -o '$O' '$TMP/t-v2.adcnn'" "$O" 'version' '2\.0'
refused 'pack: bundle format 2.0' "adcnn-pack -o '$O' '$TMP/r-v2.adcnn'" "$O" 'version' '2\.0'
refused 'pack -d: bundle format 2.0' "adcnn-pack -d -o '$O' '$TMP/p-v2.adcnn'" "$O" 'version' '2\.0'
refused 'merge: bundle format 2.0' "adcnn-merge -m '$M' '$TMP/r-v2.adcnn'" '' 'version' '2\.0'
refused 'merge: bundle format 2.0, packed' "adcnn-merge -m '$M' --output '$N' '$TMP/p-v2.adcnn'" "$N" 'version' '2\.0'
refused 'merge: bundle format 2.0 among 1.0' "adcnn-merge -m '$M' '$TMP/fan/r0c0.res' '$TMP/r-v2.adcnn'" '' 'version' '2\.0'
check 'run: bundle format 1.7' 0 "adcnn-run '$TMP/t-v17.adcnn'"
same 'run: bundle format 1.7 gives the results of 1.0' "$TMP/out" "$TMP/r.adcnn"
check 'pack: bundle format 1.7' 0 "adcnn-pack '$TMP/r-v17.adcnn'"
check 'merge: bundle format 1.7' 0 "adcnn-merge -m '$M' '$TMP/r-v17.adcnn' '$TMP/p-v17.adcnn'"

# A member's bytes changed, the MANIFEST not: its hash does not match
unpack "$TMP/t.adcnn" "$TMP/xt"
poke "$TMP/xt/tiles/r0c0.t" 100 '\001'
repack "$TMP/xt" "$TMP/t-mod.adcnn"
refused 'run: a changed tile' "adcnn-run -o '$O' '$TMP/t-mod.adcnn'" "$O" 'hash|corrupt' 'tiles/r0c0\.t'
unpack "$TMP/r.adcnn" "$TMP/xr"
poke "$TMP/xr/results/r1c1.t" 1000 '\177'
repack "$TMP/xr" "$TMP/r-mod.adcnn"
refused 'pack: a changed result' "adcnn-pack -o '$O' '$TMP/r-mod.adcnn'" "$O" 'hash|corrupt' 'r1c1'
refused 'merge: a changed result' "adcnn-merge -m '$M' --output '$N' '$TMP/r-mod.adcnn'" "$N" 'hash|corrupt' 'r1c1'
unpack "$TMP/p.adcnn" "$TMP/xp"
poke "$TMP/xp/results/r0c1.t" 40 'XXXX'
repack "$TMP/xp" "$TMP/p-mod.adcnn"
refused 'pack -d: a changed packed result' "adcnn-pack -d -o '$O' '$TMP/p-mod.adcnn'" "$O" 'hash|corrupt' 'r0c1'
refused 'merge: a changed packed result' "adcnn-merge -m '$M' '$TMP/p-mod.adcnn'" '' 'hash|corrupt' 'r0c1'
# the MANIFEST's member size changed
unpack "$TMP/t.adcnn" "$TMP/xt"
sed 's|^member tiles/r0c0.t 4120 |member tiles/r0c0.t 4000 |' "$TMP/xt/MANIFEST" >"$TMP/xt/M" && mv "$TMP/xt/M" "$TMP/xt/MANIFEST"
repack "$TMP/xt" "$TMP/t-size.adcnn"
refused 'run: a member size that is not the MANIFEST'"'"'s' "adcnn-run -o '$O' '$TMP/t-size.adcnn'" "$O" 'tiles/r0c0\.t'

# Broken bundle structure
unpack "$TMP/t.adcnn" "$TMP/xt"
(cd "$TMP/xt" && tar --format=pax -cf ../t-order.adcnn tiles/r0c0.t MANIFEST tiles/r0c1.t tiles/r1c0.t tiles/r1c1.t)
refused 'run: MANIFEST not first' "adcnn-run -o '$O' '$TMP/t-order.adcnn'" "$O" 'MANIFEST'
(cd "$TMP/xt" && tar --format=pax -cf ../t-missing.adcnn MANIFEST tiles/r0c0.t tiles/r0c1.t tiles/r1c0.t)
refused 'run: a listed member missing' "adcnn-run -o '$O' '$TMP/t-missing.adcnn'" "$O" 'tiles/r1c1\.t'
printf 'extra\n' >"$TMP/xt/extra.txt"
(cd "$TMP/xt" && tar --format=pax -cf ../t-extra.adcnn MANIFEST tiles/r0c0.t tiles/r0c1.t tiles/r1c0.t tiles/r1c1.t extra.txt)
refused 'run: a member the MANIFEST does not list' "adcnn-run -o '$O' '$TMP/t-extra.adcnn'" "$O" 'extra\.txt'
# readers ignore MANIFEST.sig, and MANIFEST lines with unknown keywords
printf 'not a signature yet\n' >"$TMP/xt/MANIFEST.sig"
(cd "$TMP/xt" && tar --format=pax -cf ../t-sig.adcnn MANIFEST tiles/r0c0.t tiles/r0c1.t tiles/r1c0.t tiles/r1c1.t MANIFEST.sig)
check 'run: MANIFEST.sig is ignored' 0 "adcnn-run '$TMP/t-sig.adcnn'"
same 'run: MANIFEST.sig is ignored: same results' "$TMP/out" "$TMP/r.adcnn"
unpack "$TMP/t.adcnn" "$TMP/xt"
sed '2a\
frobnicate 1 2 3' "$TMP/xt/MANIFEST" >"$TMP/xt/M" && mv "$TMP/xt/M" "$TMP/xt/MANIFEST"
repack "$TMP/xt" "$TMP/t-keyword.adcnn"
check 'run: an unknown MANIFEST keyword is ignored' 0 "adcnn-run '$TMP/t-keyword.adcnn'"
same 'run: unknown keyword: same results' "$TMP/out" "$TMP/r.adcnn"
# MANIFEST lines that do not add up
unpack "$TMP/t.adcnn" "$TMP/xt"
sed 's/^kind tiles/kind pictures/' "$TMP/xt/MANIFEST" >"$TMP/xt/M" && mv "$TMP/xt/M" "$TMP/xt/MANIFEST"
repack "$TMP/xt" "$TMP/t-kind.adcnn"
refused 'run: an unknown kind' "adcnn-run -o '$O' '$TMP/t-kind.adcnn'" "$O" 'kind'
unpack "$TMP/t.adcnn" "$TMP/xt"
sed 's/^grid 2 2/grid 3 3/' "$TMP/xt/MANIFEST" >"$TMP/xt/M" && mv "$TMP/xt/M" "$TMP/xt/MANIFEST"
repack "$TMP/xt" "$TMP/t-grid.adcnn"
refused 'run: 4 tile lines for a 3x3 grid' "adcnn-run -o '$O' '$TMP/t-grid.adcnn'" "$O" 'grid|tiles'

# Members whose hashes were fixed up: the tensors themselves are checked
if command -v b2sum >/dev/null 2>&1; then
	unpack "$TMP/t.adcnn" "$TMP/xt"
	forge "$TMP/xt" "$TMP/t-forged.adcnn"
	check 'forge: a re-hashed bundle unchanged runs' 0 "adcnn-run '$TMP/t-forged.adcnn'"
	same 'forge: a re-hashed bundle gives the same results' "$TMP/out" "$TMP/r.adcnn"

	# tiles/r0c0.t holds 1x1x32x32 floats: a 24-byte header and 4096 bytes
	unpack "$TMP/t.adcnn" "$TMP/xt"
	cutto "$TMP/xt/tiles/r0c0.t" 2000
	forge "$TMP/xt" "$TMP/t-short.adcnn"
	refused 'run: a truncated tile tensor' "adcnn-run -o '$O' '$TMP/t-short.adcnn'" "$O" "^adcnn-run: cannot read tile 'r0c0': truncated tensor \\(expected 4096 bytes, got 1976\\)$"
	unpack "$TMP/t.adcnn" "$TMP/xt"
	printf 'abcd' >>"$TMP/xt/tiles/r0c0.t"
	forge "$TMP/xt" "$TMP/t-long.adcnn"
	refused 'run: a tile tensor with bytes left over' "adcnn-run -o '$O' '$TMP/t-long.adcnn'" "$O" "tile 'r0c0'"
	unpack "$TMP/t.adcnn" "$TMP/xt"
	poke "$TMP/xt/tiles/r0c0.t" 0 'XXXX'
	forge "$TMP/xt" "$TMP/t-magic.adcnn"
	refused 'run: a tile tensor with a bad magic' "adcnn-run -o '$O' '$TMP/t-magic.adcnn'" "$O" 'magic' "tile 'r0c0'"
	unpack "$TMP/t.adcnn" "$TMP/xt"
	poke "$TMP/xt/tiles/r0c0.t" 4 '\002'
	forge "$TMP/xt" "$TMP/t-tver.adcnn"
	refused 'run: a tensor of version 2' "adcnn-run -o '$O' '$TMP/t-tver.adcnn'" "$O" 'version'
	unpack "$TMP/t.adcnn" "$TMP/xt"
	poke "$TMP/xt/tiles/r0c0.t" 5 '\007'
	forge "$TMP/xt" "$TMP/t-enc.adcnn"
	refused 'run: a tensor of encoding 7' "adcnn-run -o '$O' '$TMP/t-enc.adcnn'" "$O" 'encoding'
	# rank 0 is a scalar: the rank-4 data after the header is then too much
	for rank in 0 9; do
		unpack "$TMP/t.adcnn" "$TMP/xt"
		case $rank in
		0) poke "$TMP/xt/tiles/r0c0.t" 6 '\000'; want='after its data' ;;
		9) poke "$TMP/xt/tiles/r0c0.t" 6 '\011'; want='rank' ;;
		esac
		forge "$TMP/xt" "$TMP/t-rank$rank.adcnn"
		refused "run: a tensor of rank $rank" "adcnn-run -o '$O' '$TMP/t-rank$rank.adcnn'" "$O" "$want"
	done
	# dimensions whose product overflows 64 bits
	unpack "$TMP/t.adcnn" "$TMP/xt"
	poke "$TMP/xt/tiles/r0c0.t" 8 '\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377'
	forge "$TMP/xt" "$TMP/t-huge.adcnn"
	refused 'run: tensor dimensions that overflow' "adcnn-run -o '$O' '$TMP/t-huge.adcnn'" "$O" 'too large|overflow'
	# a tile tensor of another shape, its payload consistent: 1x1x16x64
	unpack "$TMP/t.adcnn" "$TMP/xt"
	poke "$TMP/xt/tiles/r0c0.t" 16 '\020\000\000\000\100\000\000\000'
	forge "$TMP/xt" "$TMP/t-shape.adcnn"
	refused 'run: a tile of the wrong shape' "adcnn-run -o '$O' '$TMP/t-shape.adcnn'" "$O" "shape" "r0c0"

	# results/r0c0.t holds 1x64x8x8 floats: 16384 bytes
	unpack "$TMP/r.adcnn" "$TMP/xr"
	cutto "$TMP/xr/results/r0c0.t" 16000
	forge "$TMP/xr" "$TMP/r-short.adcnn"
	refused 'merge: a truncated result tensor' "adcnn-merge -m '$M' --output '$N' '$TMP/r-short.adcnn'" "$N" "^adcnn-merge: cannot read tile 'r0c0': truncated tensor \\(expected 16384 bytes, got 15976\\)$"
	refused 'pack: a truncated result tensor' "adcnn-pack -o '$O' '$TMP/r-short.adcnn'" "$O" "r0c0.*truncated tensor \\(expected 16384 bytes, got 15976\\)"
	unpack "$TMP/r.adcnn" "$TMP/xr"
	poke "$TMP/xr/results/r0c0.t" 16 '\020\000\000\000\004\000\000\000'
	forge "$TMP/xr" "$TMP/r-shape.adcnn"
	refused 'merge: a result of the wrong shape' "adcnn-merge -m '$M' '$TMP/r-shape.adcnn'" '' 'shape' "r0c0"
	# a quantized tensor: the dims to byte 24, a header of 16 bytes, then the codes: a zstd
	# frame with --coder planes; by default rANS, its group count first (0, 1, 2, 4 or 8)
	adcnn-pack --coder planes -o "$TMP/pz.adcnn" "$TMP/r.adcnn" || fail 'cannot pack with planes'
	unpack "$TMP/pz.adcnn" "$TMP/xp"
	poke "$TMP/xp/results/r0c0.t" 40 'ZZZZZZZZ'
	forge "$TMP/xp" "$TMP/p-zstd.adcnn"
	refused 'merge: a corrupt zstd frame' "adcnn-merge -m '$M' '$TMP/p-zstd.adcnn'" '' 'corrupt' 'r0c0'
	refused 'pack -d: a corrupt zstd frame' "adcnn-pack -d -o '$O' '$TMP/p-zstd.adcnn'" "$O" 'corrupt' 'r0c0'
	unpack "$TMP/p.adcnn" "$TMP/xp"
	poke "$TMP/xp/results/r0c0.t" 40 '\003'
	forge "$TMP/xp" "$TMP/p-rans.adcnn"
	refused 'merge: a corrupt rANS payload' "adcnn-merge -m '$M' '$TMP/p-rans.adcnn'" '' 'corrupt' 'r0c0'
	refused 'pack -d: a corrupt rANS payload' "adcnn-pack -d -o '$O' '$TMP/p-rans.adcnn'" "$O" 'corrupt' 'r0c0'
	unpack "$TMP/p.adcnn" "$TMP/xp"
	poke "$TMP/xp/results/r0c0.t" 24 '\377\377\377\177'
	forge "$TMP/xp" "$TMP/p-plane.adcnn"
	refused 'merge: a bad bit width' "adcnn-merge -m '$M' '$TMP/p-plane.adcnn'" '' 'r0c0'
	refused 'pack -d: a bad bit width' "adcnn-pack -d -o '$O' '$TMP/p-plane.adcnn'" "$O" 'r0c0'

	# an embedded model that is not the one its name and the prefix line say
	unpack "$TMP/e.adcnn" "$TMP/xe"
	for f in "$TMP"/xe/model/*.onnx; do poke "$f" 1000 'X'; done
	forge "$TMP/xe" "$TMP/e-model.adcnn"
	refused 'run: an embedded model that does not match its hash' "XDG_CACHE_HOME='$TMP/node1' adcnn-run -o '$O' '$TMP/e-model.adcnn'" "$O" 'hash|corrupt'
	if [ -z "$(ls "$TMP/node1/adcnn/models" 2>/dev/null)" ]; then pass; else fail 'run: a bad embedded model went into the cache'; fi
else
	skip 'forged bundles: b2sum not found'
fi
# the embedded model changed without fixing the MANIFEST
unpack "$TMP/e.adcnn" "$TMP/xe"
for f in "$TMP"/xe/model/*.onnx; do poke "$f" 1000 'X'; done
repack "$TMP/xe" "$TMP/e-mod.adcnn"
refused 'run: a changed embedded model' "XDG_CACHE_HOME='$TMP/node2' adcnn-run -o '$O' '$TMP/e-mod.adcnn'" "$O" 'hash|corrupt'
# a corrupt file in the cache
prefix=$(tar -xOf "$TMP/t.adcnn" MANIFEST | sed -n 's/^prefix //p')
mkdir -p "$TMP/node3/adcnn/models"
printf 'not a model\n' >"$TMP/node3/adcnn/models/$prefix"
refused 'run: a corrupt cached model' "XDG_CACHE_HOME='$TMP/node3' adcnn-run -o '$O' '$TMP/t.adcnn'" "$O" 'corrupt|hash'
# ... which an embedded model replaces
check 'run: an embedded model over a corrupt cached one' 0 "XDG_CACHE_HOME='$TMP/node3' adcnn-run '$TMP/e.adcnn'"
same 'run: embedded over corrupt cache: same results' "$TMP/out" "$TMP/r.adcnn"

# Bundles for another model, or of the wrong kind
V="$DATA/models/vgg/model.onnx"
refused 'merge: results of the example, -m vgg' "adcnn-merge -m '$V' --output '$N' '$TMP/r.adcnn'" "$N" 'model'
refused 'merge: packed results of the example, -m vgg' "adcnn-merge -m '$V' '$TMP/p.adcnn'" '' 'model'
refused 'merge: a tile bundle of the example, -m vgg' "adcnn-merge -m '$V' --output '$N' '$TMP/t.adcnn'" "$N" 'model|tile bundle'
refused 'merge: a tile bundle' "adcnn-merge -m '$M' --output '$N' '$TMP/t.adcnn'" "$N" 'tile bundle'
# a tile bundle among results, in any place
refused 'merge: a tile bundle before results' "adcnn-merge -m '$M' '$TMP/fan/r0c0.adcnn' '$TMP/fan/r0c1.res' '$TMP/fan/r1c0.res' '$TMP/fan/r1c1.res'" '' 'tile bundle'
refused 'merge: a tile bundle after results' "adcnn-merge -m '$M' '$TMP/fan/r0c1.res' '$TMP/fan/r1c0.res' '$TMP/fan/r1c1.res' '$TMP/fan/r0c0.adcnn'" '' 'tile bundle'
refused 'merge: a tile bundle in a stream of results' "cat '$TMP/fan/r0c1.res' '$TMP/fan/r0c0.adcnn' '$TMP/fan/r1c0.res' '$TMP/fan/r1c1.res' | adcnn-merge -m '$M'" '' 'tile bundle'
# ... even when all the results are there, and the tile bundle is of another model
adcnn-partition -m "$V" -o "$TMP/vgg-tiles.adcnn" "$DATA/models/vgg/input.npy" || fail 'cannot partition vgg'
refused 'merge: all the results, and a tile bundle of another model' "adcnn-merge -m '$M' '$TMP/r.adcnn' '$TMP/vgg-tiles.adcnn'" '' 'tile bundle|model'
refused 'pack: a tile bundle with --embed-model' "adcnn-pack -o '$O' '$TMP/e.adcnn'" "$O" 'tile bundle'
refused 'run: packed results' "adcnn-run -o '$O' '$TMP/p.adcnn'" "$O" 'tile bundle'

# Inputs the fuzzers found: an empty model; a TensorProto whose dimensions claim 65535^3
# values with no data (it must be refused before anything that size is allocated)
: >"$TMP/empty.onnx"
check 'partition: an empty model' 65 "adcnn-partition -m '$TMP/empty.onnx' -o '$O' '$IMG'"
expect_err "^adcnn-partition: model '.*empty.onnx': not an ONNX model" 'partition: an empty model: message'
expect_no_file "$O" 'partition: an empty model'
printf '\010\377\377\003\010\377\377\003\010\377\377\003\020\001' >"$TMP/huge.pb"
check 'partition: a TensorProto claiming 2^48 values' 65 "adcnn-partition -m '$DATA/models/vgg/model.onnx' -o '$O' '$TMP/huge.pb'"
expect_err "^adcnn-partition: .*(bad dimensions|expected)" 'partition: a TensorProto claiming 2^48 values: message'
expect_no_file "$O" 'partition: a huge TensorProto'
finish
