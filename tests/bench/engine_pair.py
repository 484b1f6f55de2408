#!/usr/bin/python3
"""Runs the engines of one cell of the engine benchmark (tests/bench/engine.sh) in turn, a run
each, so that every engine's runs see the machine at the same moments.

  engine_pair.py RUNS NAME=COMMAND [NAME=COMMAND ...]

Each COMMAND (run by sh -c) is an engine's server: engine-bench --serve, engine_ort.js
--serve 1, engine_models.py serve. It loads its model, warms up, and prints a line starting
with "ready" (engine-bench's also says "gflop G"); then for each line it reads it runs once
and prints the run's seconds on a line; at the end of its input it may print "maxrss_kb K".
Once every server is ready, RUNS rounds: in round i the engines take their turns one after
the other, starting from engine i mod n (no engine always first), 20 ms apart (threads that
spin after a run, OpenMP's in PyTorch, are left to stop). A turn is two runs back to back, the
second one timed: an engine's threads that slept while the others ran are awake again (where
this was written, a thread woken on an idle core of the virtual machine started 3 to 10 ms
later, which would have been measured instead of the engine). Prints a line per engine:

  NAME median_s M min_s S runs N [gflop G] [maxrss_kb K]

then, for each engine after the first, the median over the rounds of each round's ratio of
the first engine's time to its time, with the lowest and highest:

  ratio NAME1 NAME R LOW HIGH

An engine whose server fails (before it is ready or during the runs) is left out:
"failed NAME: the last line of its standard error". Where the machine's speed changes every
few seconds (it changed by up to 1.5 times, every 2 to 4 seconds, where this was written),
runs of one engine after the other's compare two speeds of the machine; a round's timed runs
are a fraction of a second apart.
"""
import statistics
import subprocess
import sys
import tempfile
import time


def fail_line(e):
    e["err"].seek(0)
    lines = [l.strip() for l in e["err"].read().decode(errors="replace").splitlines() if l.strip()]
    return lines[-1] if lines else "exited with %s" % e["proc"].poll()


def main():
    if len(sys.argv) < 3 or not sys.argv[1].isdigit() or any("=" not in a for a in sys.argv[2:]):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        sys.exit(2)
    runs = int(sys.argv[1])
    engines = []
    for a in sys.argv[2:]:
        name, cmd = a.split("=", 1)
        err = tempfile.TemporaryFile()
        proc = subprocess.Popen(["sh", "-c", cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=err)
        engines.append({"name": name, "proc": proc, "err": err, "t": [], "extra": {}, "ok": True})
    for e in engines:
        line = e["proc"].stdout.readline().decode(errors="replace").split()
        if not line or line[0] != "ready":
            e["ok"] = False
            continue
        for k, v in zip(line[1::2], line[2::2]):
            e["extra"][k] = v
    live = [e for e in engines if e["ok"]]
    for i in range(runs):
        for j in range(len(live)):
            e = live[(i + j) % len(live)]
            if not e["ok"]:
                continue
            try:
                e["proc"].stdin.write(b"run\nrun\n")
                e["proc"].stdin.flush()
                e["proc"].stdout.readline()
                e["t"].append(float(e["proc"].stdout.readline()))
            except (OSError, ValueError):
                e["ok"] = False
            time.sleep(0.02)
    for e in engines:
        try:
            e["proc"].stdin.close()
        except OSError:
            pass
        for line in e["proc"].stdout:
            f = line.decode(errors="replace").split()
            if len(f) == 2 and f[0] == "maxrss_kb":
                e["extra"][f[0]] = f[1]
        if e["proc"].wait() != 0:
            e["ok"] = False
    done = [e for e in engines if e["ok"] and len(e["t"]) == runs]
    for e in engines:
        if e in done:
            extra = "".join(" %s %s" % kv for kv in e["extra"].items())
            print("%s median_s %.6f min_s %.6f runs %d%s" % (e["name"], statistics.median(e["t"]),
                                                            min(e["t"]), runs, extra))
        else:
            print("failed %s: %s" % (e["name"], fail_line(e)))
    if done and done[0] is engines[0]:
        for e in done[1:]:
            r = sorted(a / b for a, b in zip(engines[0]["t"], e["t"]) if b > 0)
            if r:
                print("ratio %s %s %.4f %.4f %.4f" % (engines[0]["name"], e["name"], statistics.median(r),
                                                      r[0], r[-1]))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
