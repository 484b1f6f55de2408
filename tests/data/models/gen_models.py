#!/usr/bin/env python3
"""Generate small random-weight test CNNs (ONNX) plus reference outputs.

Usage: /usr/bin/python3 tests/data/models/gen_models.py [OUTDIR [NAME...]]
(default OUTDIR = this script's folder; NAMEs: only those models)

For each model writes OUTDIR/<name>/:
  model.onnx          opset 13, exported from PyTorch in eval mode
  input.npy           float32 [1,3,128,128]
  split.txt           ONNX name of the split tensor (output of the spatial part)
  ref_split.npy       features(x)
  ref_out.npy         model(x) (detector: same as ref_split)
  ref_fdsp_RxR.npy    R=2,3,4: split tensor computed tile by tile, every tile run
                      through `features` alone as a whole image (zero padding at
                      its own borders), stitched.

Tiling rule (R tiles per axis, output size Ho, total stride S = H_in / Ho):
part i has size Ho//R + (1 if i < Ho%R else 0) (larger parts first); output
boundary o maps to input row o*S, so tile (i,j) reads input rows [o0*S, o1*S)
and columns [p0*S, p1*S) and its output lands at [o0:o1, p0:p1].

Everything is deterministic (fixed seeds, eval mode, float32).
"""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

IN_SHAPE = (1, 3, 128, 128)
TILINGS = (2, 3, 4)


# ----------------------------------------------------------------------------
# building blocks

def conv_bn(cin, cout, k=3, s=1, p=None, groups=1, act='relu'):
    if p is None:
        p = k // 2
    layers = [nn.Conv2d(cin, cout, k, s, p, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act == 'relu':
        layers.append(nn.ReLU(inplace=False))
    elif act == 'relu6':
        layers.append(nn.ReLU6(inplace=False))
    elif act == 'leaky':
        layers.append(nn.LeakyReLU(0.1, inplace=False))
    elif act is not None:
        raise ValueError(act)
    return nn.Sequential(*layers)


class Classifier(nn.Module):
    """features -> GlobalAveragePool -> Flatten -> Linear(10)."""

    def __init__(self, features, cfeat, ncls=10):
        super().__init__()
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cfeat, ncls)

    def forward(self, x):
        x = self.features(x)
        x = self.pool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


# --- resnet ---

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, 0, bias=False),
                nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


def make_resnet():
    w = (16, 24, 32)
    layers = [conv_bn(3, w[0], 3, 2, 1),                 # /2
              nn.MaxPool2d(3, 2, 1)]                     # /4
    cin = w[0]
    for si, c in enumerate(w):
        stride = 1 if si == 0 else 2                     # /4, /8, /16
        layers.append(BasicBlock(cin, c, stride))
        layers.append(BasicBlock(c, c, 1))
        cin = c
    return Classifier(nn.Sequential(*layers), cin)


# --- vgg (plain conv + ReLU, no BN) ---

def make_vgg():
    cfg = [(16,), (24,), (32, 32), (48, 48)]
    layers = []
    cin = 3
    for stage in cfg:
        for c in stage:
            layers += [nn.Conv2d(cin, c, 3, 1, 1, bias=True), nn.ReLU()]
            cin = c
        layers.append(nn.MaxPool2d(2, 2))                # 4 pools -> /16
    return Classifier(nn.Sequential(*layers), cin)


# --- mobilenet v2 ---

class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hid = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers.append(conv_bn(cin, hid, 1, 1, 0, act='relu6'))
        layers.append(conv_bn(hid, hid, 3, stride, 1, groups=hid, act='relu6'))
        layers.append(conv_bn(hid, cout, 1, 1, 0, act=None))
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.use_res else y


def make_mobilenet():
    # (expand, cout, repeats, first stride)
    cfg = [(1, 8, 1, 1),
           (4, 12, 2, 2),    # /4
           (4, 16, 2, 2),    # /8
           (4, 24, 2, 2),    # /16
           (4, 32, 1, 1)]
    layers = [conv_bn(3, 16, 3, 2, 1, act='relu6')]  # /2
    cin = 16
    for t, c, n, s in cfg:
        for i in range(n):
            layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
            cin = c
    layers.append(conv_bn(cin, 64, 1, 1, 0, act='relu6'))
    return Classifier(nn.Sequential(*layers), 64)


# --- squeezenet ---

class Fire(nn.Module):
    def __init__(self, cin, sq, e1, e3):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, sq, 1)
        self.squeeze_act = nn.ReLU()
        self.expand1x1 = nn.Conv2d(sq, e1, 1)
        self.expand1x1_act = nn.ReLU()
        self.expand3x3 = nn.Conv2d(sq, e3, 3, padding=1)
        self.expand3x3_act = nn.ReLU()

    def forward(self, x):
        x = self.squeeze_act(self.squeeze(x))
        return torch.cat([self.expand1x1_act(self.expand1x1(x)),
                          self.expand3x3_act(self.expand3x3(x))], 1)


def make_squeezenet():
    # conv 3x3 s2 p1 (/2); 3 maxpools 3x3 s2 p1 ceil_mode=False (/16):
    # even n -> n/2 exactly
    layers = [nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(),
              nn.MaxPool2d(3, 2, 1, ceil_mode=False),    # /4
              Fire(16, 8, 16, 16),
              Fire(32, 8, 16, 16),
              nn.MaxPool2d(3, 2, 1, ceil_mode=False),    # /8
              Fire(32, 12, 24, 24),
              Fire(48, 12, 24, 24),
              nn.MaxPool2d(3, 2, 1, ceil_mode=False),    # /16
              Fire(48, 16, 32, 32)]
    return Classifier(nn.Sequential(*layers), 64)


# --- detector (fully convolutional, no head) ---

class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        ws = (8, 16, 32, 48)
        layers = []
        cin = 3
        for c in ws:
            layers += [conv_bn(cin, c, 3, 1, 1, act='leaky'), nn.MaxPool2d(2, 2)]
            cin = c
        layers += [conv_bn(cin, 64, 3, 1, 1, act='leaky'),
                   nn.Conv2d(64, 18, 1, 1, 0, bias=True)]
        self.features = nn.Sequential(*layers)

    def forward(self, x):
        return self.features(x)


# --- wide: a deep layer with many weights (256 x 64 x 3 x 3) on an 8x8 output, the kind
# that adcnn runs with its panel GEMM (lib/pgemm.c) and keeps panels of in the ready form ---

def make_wide():
    layers = [conv_bn(3, 16, 3, 2),      # /2
              nn.MaxPool2d(3, 2, 1),     # /4
              conv_bn(16, 32, 3, 2),     # /8
              conv_bn(32, 64, 3, 2),     # /16
              conv_bn(64, 256, 3, 1),
              conv_bn(256, 64, 1, 1)]
    return Classifier(nn.Sequential(*layers), 64)


MODELS = [  # name, builder, seed
    ('resnet', make_resnet, 101),
    ('vgg', make_vgg, 102),
    ('mobilenet', make_mobilenet, 103),
    ('squeezenet', make_squeezenet, 104),
    ('detector', Detector, 105),
    ('wide', make_wide, 106),
]


# ----------------------------------------------------------------------------

def randomize(model):
    """Random weights that keep activations O(1); random BN running stats."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
                if m.bias is not None:
                    m.bias.normal_(0.0, 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 1.0 / np.sqrt(m.in_features))
                m.bias.normal_(0.0, 0.1)
    model.eval()
    return model


def parts(n, r):
    """Boundaries of n split into r parts, larger parts first."""
    b = [0]
    for i in range(r):
        b.append(b[-1] + n // r + (1 if i < n % r else 0))
    return b


def fdsp(features, x, ho, wo, r):
    h, w = x.shape[2], x.shape[3]
    assert h % ho == 0 and w % wo == 0 and h // ho == w // wo
    s = h // ho
    rb, cb = parts(ho, r), parts(wo, r)
    out = None
    for i in range(r):
        o0, o1 = rb[i], rb[i + 1]
        for j in range(r):
            p0, p1 = cb[j], cb[j + 1]
            tile = x[:, :, o0 * s:o1 * s, p0 * s:p1 * s].contiguous()
            y = features(tile)
            assert y.shape[2:] == (o1 - o0, p1 - p0), \
                (r, i, j, tuple(tile.shape), tuple(y.shape))
            if out is None:
                out = torch.zeros(y.shape[0], y.shape[1], ho, wo)
            out[:, :, o0:o1, p0:p1] = y
    return out


def save(path, t):
    np.save(path, np.ascontiguousarray(t.detach().numpy().astype(np.float32)))


def build(name, builder, seed, outdir):
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(seed)
    model = randomize(builder())
    g = torch.Generator().manual_seed(seed + 1000)
    x = torch.randn(*IN_SHAPE, generator=g, dtype=torch.float32)

    with torch.no_grad():
        split = model.features(x)
        out = model(x)
        ho, wo = split.shape[2], split.shape[3]
        assert (IN_SHAPE[2] // ho, IN_SHAPE[3] // wo) == (16, 16), split.shape
        refs = {r: fdsp(model.features, x, ho, wo, r) for r in TILINGS}

    onnx_path = os.path.join(d, 'model.onnx')
    # resnet and mobilenet keep their BatchNormalization nodes (the exporter folds them in
    # eval mode), so that adcnn's own folding at load is tested too
    keep_bn = name in ('resnet', 'mobilenet')
    torch.onnx.export(model, x, onnx_path, opset_version=13,
                      input_names=['input'], output_names=['output'],
                      do_constant_folding=True,
                      training=(torch.onnx.TrainingMode.PRESERVE if keep_bn
                                else torch.onnx.TrainingMode.EVAL))
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    if name == 'detector':
        split_name = 'output'
        assert [o.name for o in m.graph.output] == ['output']
    else:
        gaps = [n for n in m.graph.node if n.op_type == 'GlobalAveragePool']
        assert len(gaps) == 1, [n.op_type for n in m.graph.node]
        split_name = gaps[0].input[0]

    np.save(os.path.join(d, 'input.npy'), np.ascontiguousarray(x.numpy()))
    save(os.path.join(d, 'ref_split.npy'), split)
    save(os.path.join(d, 'ref_out.npy'), out)
    for r, t in refs.items():
        save(os.path.join(d, 'ref_fdsp_%dx%d.npy' % (r, r)), t)
    with open(os.path.join(d, 'split.txt'), 'w') as f:
        f.write(split_name + '\n')

    size = os.path.getsize(onnx_path)
    assert size < (800 if name == 'wide' else 400) * 1024, (name, size)
    ops = sorted({n.op_type for n in m.graph.node})
    opset = ','.join('%s:%d' % (o.domain or 'ai.onnx', o.version)
                     for o in m.opset_import)
    print('%-10s onnx=%6d B  split=%s %s  out=%s  opset=%s  ops=%s'
          % (name, size, split_name, list(split.shape), list(out.shape),
             opset, ','.join(ops)))


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.dirname(os.path.abspath(__file__))
    only = sys.argv[2:]  # names: only these (the others as committed)
    for name, builder, seed in MODELS:
        if not only or name in only:
            build(name, builder, seed, outdir)


if __name__ == '__main__':
    main()
