#!/bin/sh
# The engine benchmark (make bench): adcnn against onnxruntime and PyTorch on torchvision's
# ResNet-18, VGG-16 and MobileNetV2 (random weights, batch 1, 224x224), the spatial prefix and
# the whole model, on 1 and 2 threads; then adcnn's own figures: peak memory against what a run
# needs, tile-level scaling from 1 to 2 cores, FDSP's FLOPs against the unpartitioned prefix and
# halo mode's overhead per grid, and VGG-16's 3x3 convolutions against the GEMM they run on
# (BLIS's sgemm, or adcnn's own where BLIS has only generic kernels) alone.
#
# Environment:
#   ADCNN_BENCH_DIR  work dir: models, onnxruntime-node (cached across runs); default /tmp/adcnn-bench
#   R                rounds; medians over rounds (3)
#   N                timed runs per engine per round, after W warm-up runs (10, 2): the engines
#                    of a cell take turns, a run each (engine_pair.py)
#   THREADS          thread counts (1 2);  MODELS  (resnet18 vgg16 mobilenet_v2)
#   GRIDS            grids of the FLOP check (2x2 3x3 4x4)
#   ENGINE_BENCH     the engine-bench program (default $top_builddir/tests/bench/engine-bench)
#   PYTHON           the Python with PyTorch (default /usr/bin/python3, Debian's)
# Installs what it lacks and may: python3-torchvision, python3-onnx and time (apt-get, as
# root), onnxruntime-node (npm, into the work dir, without its postinstall download).
# A reference engine that cannot be had shows as n/a; so does anything of adcnn's that fails,
# with the reason under "Failures".
set -eu
: "${top_srcdir:=.}" "${top_builddir:=.}"
PATH="$top_builddir:$PATH"
HERE="$top_srcdir/tests/bench"
EB=${ENGINE_BENCH:-$top_builddir/tests/bench/engine-bench}
# programs older than the library would measure the code before it (make bench rebuilds
# them; running this script alone does not)
for p in "$top_builddir/adcnn-partition" "$top_builddir/adcnn-run" "$EB"; do
	# one given by ENGINE_BENCH is the caller's to keep
	[ "$p" = "$EB" ] && [ -n "${ENGINE_BENCH:-}" ] && continue
	if [ -n "$(find "$top_builddir/lib/libadcnn.la" -newer "$p" 2>/dev/null)" ]; then
		echo "engine.sh: $p is older than lib/libadcnn.la: make bench rebuilds it" >&2
		exit 1
	fi
done
W=${ADCNN_BENCH_DIR:-/tmp/adcnn-bench}
R=${R:-3}
N=${N:-10}
WU=${W_UP:-2}
THREADS=${THREADS:-1 2}
MODELS=${MODELS:-resnet18 vgg16 mobilenet_v2}
GRIDS=${GRIDS:-2x2 3x3 4x4}
PY=${PYTHON:-/usr/bin/python3}
MD="$W/models"
mkdir -p "$W"
T=$(mktemp -d "$W/run.XXXXXX")
trap 'rm -rf "$T"' EXIT
XDG_CACHE_HOME="$T/cache"
NODE_PATH="$W/ort/node_modules"
export XDG_CACHE_HOME NODE_PATH
RES="$T/results"
FAIL="$T/failures"
: >"$RES"
: >"$FAIL"

note() { printf '%s\n' "$*" >&2; }
failed() { # WHAT FILE: keep the first line of the error for the report
	printf -- '- %s: %s\n' "$1" "$(grep -v '^\s*$' "$2" 2>/dev/null | tail -n 1)" >>"$FAIL"
}

# ---- what the benchmark needs
apt_install() { # PACKAGE...
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || { note "engine.sh: missing $*, and no apt-get as root"; return 1; }
	note "engine.sh: installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$W/apt.log" 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$W/apt.log" 2>&1; } ||
		{ note "engine.sh: apt-get install $* failed (see $W/apt.log)"; return 1; }
}
[ -x /usr/bin/time ] || apt_install time || true
$PY -c 'import torchvision' 2>/dev/null || apt_install python3-torchvision || true
# onnx.load, not just onnx: libonnx-testdata (make check's) alone makes /usr/lib/python3/
# dist-packages/onnx, which imports as an empty namespace package
$PY -c 'import onnx; onnx.load' 2>/dev/null || apt_install python3-onnx || true
HAVE_TORCH=0
$PY -c 'import torch, torchvision, onnx; onnx.load' 2>/dev/null && HAVE_TORCH=1
HAVE_ORT=0
if command -v node >/dev/null; then
	if ! node -e "require('onnxruntime-node')" 2>/dev/null && command -v npm >/dev/null; then
		mkdir -p "$W/ort"
		[ -f "$W/ort/package.json" ] || echo '{"private": true}' >"$W/ort/package.json"
		note "engine.sh: npm install onnxruntime-node into $W/ort"
		(cd "$W/ort" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund onnxruntime-node) >"$W/npm.log" 2>&1 ||
			note "engine.sh: npm install onnxruntime-node failed (see $W/npm.log)"
	fi
	node -e "require('onnxruntime-node')" 2>/dev/null && HAVE_ORT=1
fi
HAVE_TIME=0
[ -x /usr/bin/time ] && HAVE_TIME=1

# ---- the models (cached in the work dir)
if [ "$HAVE_TORCH" = 1 ]; then
	$PY "$HERE/engine_models.py" export "$MD" >"$T/splits" 2>"$T/export.err" || { cat "$T/export.err" >&2; exit 1; }
fi
for m in $MODELS; do
	if [ ! -f "$MD/$m/split.txt" ]; then
		note "engine.sh: no model $m in $MD, and PyTorch cannot make it (python3-torchvision, python3-onnx)"
		exit 1
	fi
done
IN="$MD/input.npy"

# ---- helpers
field() { # KEY < "k v k v" line: the value after KEY
	awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit }}'
}
json() { # KEY < JSON line
	sed -n "s/.*\"$1\": *\([0-9.eE+-]*\).*/\1/p" | head -n 1
}
put() { # MODEL PART THREADS WHAT VALUE, of round $r
	[ -n "$5" ] && echo "$1 $2 $3 $4 $5 $r" >>"$RES"
	return 0
}
med() { # MODEL PART THREADS WHAT: the median over the rounds, or n/a
	awk -v m="$1" -v p="$2" -v t="$3" -v e="$4" '$1 == m && $2 == p && $3 == t && $4 == e {print $5}' "$RES" | sort -g |
		awk '{a[NR] = $1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
ratio() { # MODEL PART THREADS WHAT: the median over the rounds of WHAT, a round's ratio (the
	# median of its pairs' ratios), and from three rounds on the lowest and highest round's; n/a
	awk -v m="$1" -v p="$2" -v t="$3" -v e="$4" '$1 == m && $2 == p && $3 == t && $4 == e {print $5}' "$RES" | sort -g |
		awk '{a[NR] = $1} END {
			if (NR == 0) { print "n/a"; exit }
			printf "%.2f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			if (NR >= 3) printf " (%.2f-%.2f)", a[1], a[NR]
			printf "\n"
		}'
}
calc() { # FORMAT COND A B EXPR: printf FORMAT EXPR (of a and b) when COND holds; n/a if A or B is
	case "$3$4" in *n/a*) echo n/a; return ;; esac
	awk -v a="$3" -v b="$4" "BEGIN {if ($2) printf \"$1\", $5; else print \"n/a\"}"
}
ms() { case "$1" in n/a) echo n/a ;; *) awk -v s="$1" 'BEGIN {printf "%.1f", s * 1e3}' ;; esac; }
timed() { # RSSFILE CMD...: run CMD under /usr/bin/time -f %M when there is one
	f=$1
	shift
	if [ "$HAVE_TIME" = 1 ]; then
		/usr/bin/time -f %M -o "$f" "$@"
	else
		: >"$f"
		"$@"
	fi
}

# ---- bundles: one tile (the prefix as a whole) and 2x2 (tile scaling)
for m in $MODELS; do
	for g in 1x1 2x2; do
		adcnn-partition -m "$MD/$m/model.onnx" -g "$g" -o "$T/$m-$g.adcnn" "$IN" 2>"$T/err" ||
			{ failed "adcnn-partition $m -g $g" "$T/err"; rm -f "$T/$m-$g.adcnn"; }
	done
done

# ---- each engine's output on one thread, against PyTorch's (the report's second table)
for m in $MODELS; do
	if [ -x "$EB" ]; then
		"$EB" -j 1 -r 1 -w 0 -o "$T/$m-adcnn-out.npy" "$MD/$m/model.onnx" "$IN" >/dev/null 2>"$T/err" ||
			failed "engine-bench ($m whole, its output)" "$T/err"
	fi
	if [ "$HAVE_ORT" = 1 ]; then
		node "$HERE/engine_ort.js" "$MD/$m/model.onnx" "$IN" --threads 1 --runs 1 --warmup 0 --save "$T/$m-ort-out.npy" \
			>/dev/null 2>"$T/err" || cat "$T/err" >&2
	fi
done

# ---- the rounds: in each, a cell's engines (a model, its prefix or the whole of it, a thread
# count) take turns, a run each, N times (engine_pair.py), each a server that loaded its
# model and warmed up first; the round's ratio is the median of its N pairs' ratios
paired() { # MODEL PART THREADS NAME=COMMAND...: put each engine's median and each ratio to the
	# first engine, of round $r; adcnn's GFLOP/s and peak RSS
	pm=$1 pp=$2 pt=$3
	shift 3
	if ! $PY "$HERE/engine_pair.py" "$N" "$@" >"$T/pair" 2>"$T/err"; then
		[ "$r" = 1 ] && failed "engine_pair.py ($pm $pp -j $pt)" "$T/err"
		return 0
	fi
	while read -r name rest; do
		case $name in
		ratio) # FIRST NAME RATIO LOW HIGH
			# shellcheck disable=SC2086
			set -- $rest
			put "$pm" "$pp" "$pt" "r_$2" "$3" ;;
		failed) # NAME: ERROR
			if [ "$r" = 1 ]; then
				echo "${rest#*: }" >"$T/ferr"
				failed "${rest%%:*} ($pm $pp -j $pt)" "$T/ferr"
			fi ;;
		*) # median_s S min_s S runs N [gflop G] [maxrss_kb K]
			pmed=$(echo "$rest" | field median_s)
			put "$pm" "$pp" "$pt" "$name" "$pmed"
			if [ "$name" = adcnn ]; then
				put "$pm" "$pp" "$pt" gflops "$(echo "$rest" | awk -v s="$pmed" '{for (i = 1; i < NF; i++) if ($i == "gflop") print $(i + 1) / s}')"
				put "$pm" "$pp" "$pt" rss "$(echo "$rest" | field maxrss_kb)"
			fi ;;
		esac
	done <"$T/pair"
}
r=1
while [ "$r" -le "$R" ]; do
	note "engine.sh: round $r of $R"
	for m in $MODELS; do
		for t in $THREADS; do
			for p in prefix whole; do
				set --
				if [ -x "$EB" ]; then
					# adcnn: the prefix as adcnn-run runs a one-tile bundle (its tile decoded,
					# run, its result encoded); the whole model by the library's graph run
					if [ $p = prefix ]; then
						[ -f "$T/$m-1x1.adcnn" ] && set -- "adcnn='$EB' --serve --bundle -j $t -w $WU '$T/$m-1x1.adcnn'"
					else
						set -- "adcnn='$EB' --serve -j $t -w $WU '$MD/$m/model.onnx' '$IN'"
					fi
				elif [ "$r" = 1 ]; then
					echo "engine-bench not built" >"$T/err"
					failed "engine-bench ($m $p -j $t)" "$T/err"
				fi
				[ $p = prefix ] && f="$MD/$m/prefix.onnx" || f="$MD/$m/model.onnx"
				[ "$HAVE_ORT" = 1 ] && set -- "$@" "ort=node '$HERE/engine_ort.js' '$f' '$IN' --serve 1 --threads $t --warmup $WU"
				[ "$HAVE_TORCH" = 1 ] && set -- "$@" "torch='$PY' '$HERE/engine_models.py' serve '$MD' $m --part $p --threads $t --warmup $WU"
				[ $# -gt 0 ] && paired "$m" $p "$t" "$@"
			done
		done
	done
	# tile scaling: the 2x2 bundle on 1 and 2 threads, in turns
	for m in $MODELS; do
		[ -f "$T/$m-2x2.adcnn" ] && [ -x "$EB" ] || continue
		paired "$m" tiles2x2 1 "j1='$EB' --serve --bundle -j 1 -w $WU '$T/$m-2x2.adcnn'" \
			"j2='$EB' --serve --bundle -j 2 -w $WU '$T/$m-2x2.adcnn'"
	done
	r=$((r + 1))
done

# ---- the report
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')
echo "# adcnn engine benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), ${cpu:-unknown CPU}"
echo
echo "$(nproc) cores, load average at the end $(cut -d' ' -f1-3 /proc/loadavg); $R rounds, $N runs per engine per round, the engines in turns."
printf 'adcnn %s, %s' "$(adcnn-run -V 2>/dev/null | head -n 1 | cut -d' ' -f2)" "$(adcnn-run -V 2>/dev/null | grep -m1 '^BLIS' || echo BLIS)"
gemm=$(adcnn-run -V 2>/dev/null | sed -n 's/^GEMM: //p')
[ -z "$gemm" ] || printf ' (GEMM: %s)' "$gemm"
if [ "$HAVE_ORT" = 1 ]; then
	printf ', onnxruntime-node %s' "$(node -p "require('onnxruntime-node').env.versions.common" 2>/dev/null || echo '?')"
else
	printf ', onnxruntime n/a'
fi
if [ "$HAVE_TORCH" = 1 ]; then
	printf ', PyTorch %s' "$($PY -c 'import torch; print(torch.__version__)' 2>/dev/null)"
else
	printf ', PyTorch n/a'
fi
echo
echo
echo "## Batch 1, 224x224: medians"
echo
echo "prefix: the spatial prefix (to the split tensor), adcnn as adcnn-run runs a one-tile bundle with -j T (adcnn_run, as"
echo "adcnn-run --bench times it: decoding the tile and encoding the result included; -j runs tiles in parallel, so one tile"
echo "gains only what adcnn-run does inside a tile); whole: the whole model (adcnn_graph_run, its operators on T threads)."
echo "ORT: onnxruntime-node, intraOpNumThreads T; PyTorch: torch.set_num_threads(T). Peak RSS: of the adcnn process."
echo "In a round, a cell's engines take turns, a run each, $N times (each engine a process that loaded its model and warmed"
echo "up first): times are the medians over the rounds of each engine's median; ratios the median over the rounds of each"
echo "round's ratio (the median of its $N pairs of runs' ratios), then the lowest and highest round's."
echo
echo "| model | part | threads | adcnn ms | ORT ms | PyTorch ms | adcnn/ORT | adcnn/PyTorch | adcnn GFLOP/s | adcnn peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for m in $MODELS; do
	for p in prefix whole; do
		for t in $THREADS; do
			a=$(med "$m" $p "$t" adcnn)
			o=$(med "$m" $p "$t" ort)
			y=$(med "$m" $p "$t" torch)
			gf=$(med "$m" $p "$t" gflops)
			rss=$(med "$m" $p "$t" rss)
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$m" $p "$t" "$(ms "$a")" "$(ms "$o")" "$(ms "$y")" \
				"$(ratio "$m" $p "$t" r_ort)" "$(ratio "$m" $p "$t" r_torch)" \
				"$(calc %.1f 1 "$gf" 0 a)" "$(calc %.0f 1 "$rss" 0 'a / 1024')"
		done
	done
done

echo
echo "## Outputs against PyTorch (whole model, same input)"
echo
echo "| model | adcnn max rel. error | adcnn top-1 | ORT max rel. error | ORT top-1 |"
echo "|---|---|---|---|---|"
cmpcol() { # REF GOT: "rel | top1"
	if [ -f "$2" ] && [ "$HAVE_TORCH" = 1 ] && $PY "$HERE/engine_models.py" compare "$1" "$2" >"$T/cmp" 2>/dev/null; then
		rel=$(json max_rel <"$T/cmp")
		grep -q '"top1_agree": true' "$T/cmp" && top=same || top=differs
		printf '%s | %s' "$(calc %.2e 1 "${rel:-n/a}" 0 a)" "$top"
	else
		printf 'n/a | n/a'
	fi
}
for m in $MODELS; do
	printf '| %s | %s | %s |\n' "$m" "$(cmpcol "$MD/$m/ref_out.npy" "$T/$m-adcnn-out.npy")" "$(cmpcol "$MD/$m/ref_out.npy" "$T/$m-ort-out.npy")"
done
echo
echo "(relative error: max |adcnn - PyTorch| / max |PyTorch|)"

echo
echo "## Peak memory of adcnn-run on a one-tile bundle"
echo
echo "bound: weights of the prefix + its two largest activations + the largest im2col matrix, unchunked (K x Ho*Wo floats;"
echo "engine-bench --mem); target for ResNet-18 <= 1.2x"
echo
echo "| model | weights MB | 2 largest activations MB | im2col MB | bound MB | adcnn-run -j 1 peak RSS MB | RSS / bound |"
echo "|---|---|---|---|---|---|---|"
for m in $MODELS; do
	[ -f "$T/$m-1x1.adcnn" ] || continue
	if [ -x "$EB" ] && "$EB" --mem "$MD/$m/prefix.onnx" "$IN" >"$T/mem" 2>"$T/err"; then
		wb=$(field weights_bytes <"$T/mem") ab=$(field act2_bytes <"$T/mem") cb=$(field im2col_bytes <"$T/mem") bb=$(field bound_bytes <"$T/mem")
	else
		failed "engine-bench --mem $m" "$T/err"
		wb=n/a ab=n/a cb=n/a bb=n/a
	fi
	rss=n/a
	if [ "$HAVE_TIME" = 1 ] && timed "$T/rss" adcnn-run -j 1 "$T/$m-1x1.adcnn" >/dev/null 2>"$T/err"; then
		rss=$(tail -n 1 "$T/rss")
	fi
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$m" "$(calc %.1f 1 "$wb" 0 'a / 1048576')" "$(calc %.1f 1 "$ab" 0 'a / 1048576')" \
		"$(calc %.1f 1 "$cb" 0 'a / 1048576')" "$(calc %.1f 1 "$bb" 0 'a / 1048576')" "$(calc %.1f 1 "$rss" 0 'a / 1024')" \
		"$(calc %.2f 'b > 0' "$rss" "$bb" 'a * 1024 / b')"
done

echo
echo "## Tile-level parallelism: a 2x2 bundle of the prefix, as adcnn-run runs it (target >= 1.9x)"
echo
echo "speedup: -j 1 and -j 2 take turns, a run each, $N times a round: the median over the rounds of each round's median"
echo "of its pairs' -j 1 time over -j 2 time, then the lowest and highest round's."
echo
echo "| model | -j 1 ms | -j 2 ms | speedup |"
echo "|---|---|---|---|"
for m in $MODELS; do
	a=$(med "$m" tiles2x2 1 j1)
	b=$(med "$m" tiles2x2 1 j2)
	printf '| %s | %s | %s | %s |\n' "$m" "$(ms "$a")" "$(ms "$b")" "$(ratio "$m" tiles2x2 1 r_j2)"
done

echo
echo "## FLOPs of the partitioned prefix (adcnn-partition -v)"
echo
echo "fdsp: the tiles' FLOPs must add up to the unpartitioned prefix's; halo: its overhead."
echo
echo "| model | grid | prefix GFLOP | fdsp tiles GFLOP | fdsp redundant | halo tiles GFLOP | halo overhead |"
echo "|---|---|---|---|---|---|---|"
for m in $MODELS; do
	for g in $GRIDS; do
		fw=n/a ft=n/a ht=n/a ho=n/a
		if adcnn-partition -v -n -m "$MD/$m/model.onnx" -g "$g" "$IN" >/dev/null 2>"$T/err"; then
			l=$(grep '^flops tiles' "$T/err" || true)
			ft=$(echo "$l" | field tiles) fw=$(echo "$l" | field whole)
		else
			failed "adcnn-partition -v -g $g ($m fdsp)" "$T/err"
		fi
		if adcnn-partition -v -n -m "$MD/$m/model.onnx" -g "$g" --mode halo "$IN" >/dev/null 2>"$T/err"; then
			l=$(grep '^flops tiles' "$T/err" || true)
			ht=$(echo "$l" | field tiles) ho=$(echo "$l" | field overhead)
		else
			failed "adcnn-partition -v -g $g ($m halo)" "$T/err"
		fi
		red=n/a
		case "$ft$fw" in *n/a*|'') ;; *) red=$(awk -v a="$ft" -v b="$fw" 'BEGIN {d = a - b; if (d == 0) print "none"; else printf "%+.0f FLOP (%+.2f%%)", d, 100 * d / b}') ;; esac
		printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$m" "$g" "$(calc %.3f 1 "${fw:-n/a}" 0 'a / 1e9')" \
			"$(calc %.3f 1 "${ft:-n/a}" 0 'a / 1e9')" "$red" "$(calc %.3f 1 "${ht:-n/a}" 0 'a / 1e9')" "${ho:-n/a}"
	done
done

echo
echo "## VGG-16's 3x3 convolutions against the GEMM they run on (1 thread; target >= 85% for im2col)"
echo
case " $MODELS " in
*" vgg16 "*)
	if [ -x "$EB" ]; then
		peak=$("$EB" --sgemm 1024 1024 1024 2>/dev/null | field gflops)
		blis=$("$EB" --sgemm --blis 1024 1024 1024 2>/dev/null | field gflops)
		gemm=$(adcnn-run -V 2>/dev/null | sed -n 's/^GEMM: //p')
		echo "The GEMM adcnn runs (${gemm:-BLIS's sgemm}) alone, a square GEMM of 1024: ${peak:-n/a} GFLOP/s;" \
			"BLIS's sgemm alone ($(adcnn-run -V 2>/dev/null | grep -m1 '^BLIS' || echo BLIS)): ${blis:-n/a} GFLOP/s"
		echo
		for algo in im2col auto; do
			if [ $algo = im2col ]; then
				echo "### im2col + GEMM on every layer (ADCNN_CONV=im2col)"
			else
				echo "### adcnn's default (ADCNN_CONV=auto): Winograd F(4x4,3x3) where it is faster; GFLOP/s of"
				echo "### the direct convolution's FLOPs, so above sgemm's where Winograd saves multiplications"
			fi
			echo
			ADCNN_CONV=$algo "$EB" --conv -k 3 "$MD/vgg16/prefix.onnx" "$IN" >"$T/conv" 2>"$T/err" ||
				failed "engine-bench --conv vgg16 ($algo)" "$T/err"
			cat "$T/conv"
			# the "all" row: | all | ... | GFLOP | ms | adcnn GFLOP/s | | sgemm GFLOP/s | adcnn/sgemm |
			all=$(awk -F'|' '$2 ~ /^ all / {gsub(/ /, ""); print $10, $12, $13}' "$T/conv")
			if [ -n "$all" ]; then
				# shellcheck disable=SC2086
				set -- $all
				echo
				echo "All 3x3 convs ($algo): adcnn $1 GFLOP/s, $(calc %.0f%% 'b > 0' "$1" "${peak:-n/a}" '100 * a / b') of the square GEMM's rate," \
					"$(calc %.0f%% 1 "$3" 0 '100 * a') of sgemm's on the same shapes ($2 GFLOP/s)."
			fi
			echo
		done
	else
		echo "n/a (engine-bench not built)"
	fi
	;;
*) echo "n/a (vgg16 not in MODELS)" ;;
esac

echo
echo "## Failures"
echo
if [ -s "$FAIL" ]; then cat "$FAIL"; else echo "none"; fi
