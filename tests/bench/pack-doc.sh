#!/bin/sh
# The tables of doc/pack-benchmark.md from the output of the pack benchmark (pack.sh) on
# stdin: its main rows (every tensor's defaults, lossless, the planes at zstd -1, zstd -3
# and lz4 on the floats), the tiles packed in turn, clip and coder at 4 bits on the first
# ReLUs of VGG and ResNet, and the sections after the big table as they are. The prose
# around them is written by hand.
set -eu
awk '
function head() {
	print "| tensor | floats | zeros | setting | bytes | ratio | max err | rms err | pack GB/s | unpack GB/s |"
	print "|---|---|---|---|---|---|---|---|---|---|"
}
/^[|] [^|]* [|] [0-9]/ {
	split($0, f, / *[|] */)
	if ($0 ~ / in turn [|]/)
		turn[++nt] = $0
	else {
		if (f[5] ~ /float32\)$|^lossless|^[0-9] bits, clip auto, (rans|planes, zstd -1)$/)
			main[++nm] = $0
		if ((f[2] == "vgg/relu1" || f[2] == "resnet/relu1") && f[5] ~ /^4 bits/)
			clip[++nc] = $0
	}
	next
}
/^## / { rest = 1 }
rest { tail[++nr] = $0 }
END {
	print "## The defaults (clip auto, rANS), lossless (exponents by rANS, and `--coder planes`: byte planes and zstd -3), and the planes (`--coder planes`, zstd -1), against zstd -3 and lz4 on the floats"
	print ""
	head()
	for (i = 1; i <= nm; i++) print main[i]
	print ""
	print "## Tiles packed in turn (the defaults)"
	print ""
	head()
	for (i = 1; i <= nt; i++) print turn[i]
	print ""
	print "## Clip and coder, 4 bits"
	print ""
	head()
	for (i = 1; i <= nc; i++) print clip[i]
	print ""
	for (i = 1; i <= nr; i++) print tail[i]
}'
