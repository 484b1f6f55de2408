# lib.sh: what the shell tests share. Source it; call check ... and finish at the end.
# The tools under test are those of the build tree ($top_builddir), the data that of the
# source tree ($top_srcdir).
set -u
: "${top_builddir:=.}" "${top_srcdir:=.}"
top_builddir=$(cd "$top_builddir" && pwd)
top_srcdir=$(cd "$top_srcdir" && pwd)
PATH="$top_builddir:$top_builddir/tests/util:$PATH"
DATA="$top_srcdir/tests/data"
SHARE="$top_srcdir/share/adcnn"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/adcnn-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
XDG_CACHE_HOME="$TMP/cache"
export PATH XDG_CACHE_HOME
npass=0
nfail=0
nskip=0

# run CODE CMD...: run CMD (through sh -c, so pipes work), stdout in $TMP/out, stderr in
# $TMP/err, and check its exit code
run() {
	want=$1
	shift
	sh -c "$*" >"$TMP/out" 2>"$TMP/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "exit $got, expected $want: $*" "$(head -c 600 "$TMP/err")"
		return 1
	fi
	return 0
}

pass() { npass=$((npass + 1)); }
fail() {
	nfail=$((nfail + 1))
	printf 'FAIL: %s\n' "$1"
	[ $# -gt 1 ] && [ -n "$2" ] && printf '  %s\n' "$2"
	return 0
}
skip() { nskip=$((nskip + 1)); printf 'skip: %s\n' "$1"; }

# check NAME CODE CMD...: one test: CMD must exit with CODE
check() {
	name=$1
	shift
	if run "$@"; then pass; else printf '  in test: %s\n' "$name"; fi
}

# expect_err REGEX NAME: stderr of the last run matches
expect_err() {
	if grep -Eq -- "$1" "$TMP/err"; then pass; else fail "$2: stderr does not match '$1'" "$(head -c 600 "$TMP/err")"; fi
}

# expect_out_eq TEXT NAME: stdout of the last run is exactly TEXT
expect_out_eq() {
	if [ "$(cat "$TMP/out")" = "$1" ]; then pass; else fail "$2: unexpected stdout" "$(head -c 600 "$TMP/out")"; fi
}

expect_out_re() {
	if grep -Eq -- "$1" "$TMP/out"; then pass; else fail "$2: stdout does not match '$1'" "$(head -c 600 "$TMP/out")"; fi
}

expect_empty_err() {
	if [ ! -s "$TMP/err" ]; then pass; else fail "$1: unexpected stderr" "$(head -c 600 "$TMP/err")"; fi
}

# expect_no_file PATH NAME: a failed command left nothing behind (nor a temporary beside it)
expect_no_file() {
	if [ ! -e "$1" ] && ! ls "$1".tmp.* >/dev/null 2>&1; then pass; else fail "$2: '$1' was left behind"; fi
}

# same NAME A B: files A and B hold the same bytes
same() {
	if cmp -s "$2" "$3"; then pass; else fail "$1: '$2' and '$3' differ"; fi
}

# tty_refuses NAME CMD: CMD, its standard output a terminal, refuses to write a bundle there
tty_refuses() {
	if ! command -v script >/dev/null 2>&1 || ! script -qec true /dev/null </dev/null >/dev/null 2>&1; then
		skip "$1: script(1) cannot give a terminal here"
		return 0
	fi
	printf '%s\n' "$2" >"$TMP/tty.sh"
	check "$1" 64 "script -qec 'sh $TMP/tty.sh' /dev/null </dev/null"
	expect_out_re 'terminal' "$1: message"
	if grep -q 'ustar' "$TMP/out"; then fail "$1: a bundle went to the terminal"; else pass; fi
}

# mknpy FILE DESCR SHAPE NBYTES: a .npy of zero bytes, e.g. mknpy x.npy '<f4' '(1, 3, 64, 64)' 49152
mknpy() {
	printf '\223NUMPY\001\000\166\000' >"$1"
	printf "%-117s\n" "{'descr': '$2', 'fortran_order': False, 'shape': $3, }" >>"$1"
	head -c "$4" /dev/zero >>"$1"
}

finish() {
	echo "$npass passed, $nfail failed, $nskip skipped"
	[ "$nfail" -eq 0 ]
	exit $?
}
