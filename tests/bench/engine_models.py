#!/usr/bin/python3
"""The models of the engine benchmark (tests/bench/engine.sh), and PyTorch's timings of them.

  engine_models.py export DIR
      For resnet18, vgg16 and mobilenet_v2 (torchvision, weights=None, seed 0, eval mode),
      batch 1, 224x224, writes into DIR (and skips a model already there):
        DIR/input.npy             float32 [1,3,224,224], seed 1
        DIR/NAME/model.onnx       the whole model, opset 13, input 'input', output 'output'
        DIR/NAME/prefix.onnx      the spatial prefix: the graph cut at the split tensor
        DIR/NAME/split.txt        the split tensor's name: the input of the first
                                  GlobalAveragePool or Flatten
        DIR/NAME/model.pt         the PyTorch module itself (torch.save), for `time`
        DIR/NAME/ref_out.npy      PyTorch's output for input.npy
        DIR/NAME/ref_prefix.npy   PyTorch's prefix output for input.npy
      Prints one line per model: NAME SPLIT.

  engine_models.py time DIR NAME [--part prefix,whole] [--threads 1,2] [--runs N] [--warmup W]
      Times the PyTorch module (torch.inference_mode, torch.set_num_threads) on input.npy:
      W warm-up runs, then N runs; prints a JSON line per part and thread count:
      {"engine": "pytorch", "model", "part", "threads", "runs", "median_s", "min_s"}.

  engine_models.py serve DIR NAME --part prefix|whole --threads T [--warmup W]
      For engine_pair.py: after W warm-up runs prints "ready", then runs the module once for
      each line read from standard input and prints its seconds on a line.

  engine_models.py compare REF.npy GOT.npy
      Prints the max absolute error, the max relative error (to the max |REF|) and whether
      the top-1 class agrees, as a JSON line.

The prefix PyTorch times is the module that computes the split tensor: ResNet-18's stem and
layer1..layer4; VGG-16's features and its avgpool (AdaptiveAvgPool2d(7) on a 7x7 input,
which exports as an AveragePool with a 1x1 kernel, a spatial op); MobileNetV2's features.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn

MODELS = ("resnet18", "vgg16", "mobilenet_v2")
SHAPE = (1, 3, 224, 224)


def build(name):
    import torchvision
    torch.manual_seed(0)
    return getattr(torchvision.models, name)(weights=None).eval()


def prefix_module(name, m):
    if name == "resnet18":
        return nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3,
                             m.layer4).eval()
    if name == "vgg16":
        return nn.Sequential(m.features, m.avgpool).eval()
    if name == "mobilenet_v2":
        return m.features.eval()
    raise ValueError(name)


def split_name(model):
    """The input of the first GlobalAveragePool or Flatten node."""
    for n in model.graph.node:
        if n.op_type in ("GlobalAveragePool", "Flatten", "Reshape"):
            return n.input[0]
    raise RuntimeError("no GlobalAveragePool or Flatten in the graph")


def cut(model, split):
    """The sub-model from 'input' to split: the nodes the split tensor depends on."""
    import onnx
    try:
        import onnx.utils
        e = onnx.utils.Extractor(model)
        return e.extract_model(["input"], [split])
    except Exception:  # older onnx: cut by hand
        producers = {o: n for n in model.graph.node for o in n.output}
        need, keep, stack = set(), [], [split]
        while stack:
            t = stack.pop()
            if t in need or t not in producers:
                continue
            need.add(t)
            stack.extend(producers[t].input)
        keep = [n for n in model.graph.node if any(o in need for o in n.output)]
        used = {i for n in keep for i in n.input}
        inits = [t for t in model.graph.initializer if t.name in used]
        vi = onnx.helper.make_tensor_value_info(split, onnx.TensorProto.FLOAT, None)
        g = onnx.helper.make_graph(keep, "prefix", [model.graph.input[0]], [vi], inits)
        return onnx.helper.make_model(g, opset_imports=model.opset_import)


def export(d):
    import onnx
    os.makedirs(d, exist_ok=True)
    inp = os.path.join(d, "input.npy")
    if not os.path.exists(inp):
        rng = np.random.default_rng(1)
        np.save(inp, rng.standard_normal(SHAPE).astype(np.float32))
    x = torch.from_numpy(np.load(inp))
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for name in MODELS:
        md = os.path.join(d, name)
        done = os.path.join(md, "split.txt")
        if os.path.exists(done):
            with open(done) as f:
                print(name, f.read().strip())
            continue
        os.makedirs(md, exist_ok=True)
        m = build(name)
        with torch.inference_mode():
            out = m(x).numpy()
            pre = prefix_module(name, m)(x).numpy()
        np.save(os.path.join(md, "ref_out.npy"), out)
        np.save(os.path.join(md, "ref_prefix.npy"), pre)
        torch.save(m, os.path.join(md, "model.pt"))
        path = os.path.join(md, "model.onnx")
        torch.onnx.export(m, torch.zeros(SHAPE), path, opset_version=13, input_names=["input"],
                          output_names=["output"], do_constant_folding=True)
        model = onnx.load(path)
        split = split_name(model)
        onnx.save(cut(model, split), os.path.join(md, "prefix.onnx"))
        with open(done, "w") as f:
            f.write(split + "\n")
        print(name, split)
        sys.stdout.flush()


def timed(f, x, runs, warmup):
    with torch.inference_mode():
        for _ in range(warmup):
            f(x)
        t = []
        for _ in range(runs):
            t0 = time.perf_counter()
            f(x)
            t.append(time.perf_counter() - t0)
    return t


def time_cmd(a):
    x = torch.from_numpy(np.load(os.path.join(a.dir, "input.npy")))
    m = torch.load(os.path.join(a.dir, a.model, "model.pt")).eval()
    for part in a.part.split(","):
        f = m if part == "whole" else prefix_module(a.model, m)
        for th in (int(t) for t in a.threads.split(",")):
            torch.set_num_threads(th)
            t = timed(f, x, a.runs, a.warmup)
            print(json.dumps({"engine": "pytorch", "model": a.model, "part": part, "threads": th,
                              "runs": a.runs, "median_s": statistics.median(t), "min_s": min(t)}))
            sys.stdout.flush()


def serve_cmd(a):
    x = torch.from_numpy(np.load(os.path.join(a.dir, "input.npy")))
    m = torch.load(os.path.join(a.dir, a.model, "model.pt")).eval()
    f = m if a.part == "whole" else prefix_module(a.model, m)
    torch.set_num_threads(a.threads)
    with torch.inference_mode():
        for _ in range(a.warmup):
            f(x)
        print("ready", flush=True)
        for _ in sys.stdin:
            t0 = time.perf_counter()
            f(x)
            print("%.6f" % (time.perf_counter() - t0), flush=True)


def compare(ref, got):
    r = np.load(ref).astype(np.float64)
    g = np.load(got).astype(np.float64)
    if r.shape != g.shape:
        print(json.dumps({"shape_ref": list(r.shape), "shape_got": list(g.shape), "ok": False}))
        return
    err = float(np.max(np.abs(r - g)))
    scale = float(np.max(np.abs(r))) or 1.0
    top1 = bool(np.argmax(r.reshape(r.shape[0], -1), 1)[0] == np.argmax(g.reshape(g.shape[0], -1), 1)[0])
    print(json.dumps({"max_abs": err, "max_rel": err / scale, "top1_agree": top1}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("dir")
    t = sub.add_parser("time")
    t.add_argument("dir")
    t.add_argument("model", choices=MODELS)
    t.add_argument("--part", default="prefix,whole")
    t.add_argument("--threads", default="1,2")
    t.add_argument("--runs", type=int, default=10)
    t.add_argument("--warmup", type=int, default=2)
    v = sub.add_parser("serve")
    v.add_argument("dir")
    v.add_argument("model", choices=MODELS)
    v.add_argument("--part", choices=("prefix", "whole"), required=True)
    v.add_argument("--threads", type=int, required=True)
    v.add_argument("--warmup", type=int, default=2)
    c = sub.add_parser("compare")
    c.add_argument("ref")
    c.add_argument("got")
    a = p.parse_args()
    if a.cmd == "export":
        export(a.dir)
    elif a.cmd == "time":
        time_cmd(a)
    elif a.cmd == "serve":
        serve_cmd(a)
    else:
        compare(a.ref, a.got)


if __name__ == "__main__":
    main()
