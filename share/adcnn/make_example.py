#!/usr/bin/env python3
"""Build the small example model shipped with adcnn, plus a sample image.

Usage: /usr/bin/python3 share/adcnn/make_example.py [OUTDIR]
(default OUTDIR = this script's folder, i.e. share/adcnn)

Writes:
  OUTDIR/models/example.onnx      VGG-style Fashion-MNIST-shaped classifier,
                                  random weights (seed 2024), opset 13,
                                  input 'input' [1,1,64,64], output 'logits' [1,10],
                                  with metadata_props adcnn.resize/scale/mean/std
  OUTDIR/labels.txt               the ten Fashion-MNIST class names, class order
  OUTDIR/images/sample.png        28x28 8-bit grayscale synthetic "trouser"
  OUTDIR/images/sample_input.npy  float32 [1,1,64,64]: sample.png preprocessed
  OUTDIR/images/sample_logits.npy float32 [1,10]: model output for it

Preprocessing (what adcnn.* metadata means): resize the 8-bit image to
adcnn.resize (WIDTHxHEIGHT) with bilinear interpolation, then each pixel
p in 0..255 becomes (p*scale - mean)/std (per channel if lists are given).

Resize used for sample_input.npy: PIL's Image.resize((64, 64), Image.BILINEAR)
on the 8-bit 'L' image when PIL is available (it is for Debian's python3).
PIL rounds, so the result is 8-bit pixels, and it works in two passes with an
8-bit intermediate: first horizontally (28x28 -> 28 rows x 64), rounding to
the nearest integer, then vertically (-> 64x64), rounding again. Each pass is
1-D bilinear with half-pixel centres (align_corners=False): source coordinate
s = (o + 0.5) * in/out - 0.5 clamped to [0, in-1], weights 1-frac / frac on
floor(s) and floor(s)+1 (clamped). The numpy fallback (no PIL) does exactly
that and reproduces PIL's output bit for bit on sample.png (checked). A
single-pass float bilinear without rounding differs from it by up to 1 grey
level (about 0.011 after normalisation).
"""
import os
import struct
import sys
import zlib

import numpy as np
import onnx
import torch
import torch.nn as nn

try:
    from PIL import Image
except ImportError:  # pragma: no cover
    Image = None

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

SEED = 2024
SIZE = 64
SCALE = 1.0 / 255.0
MEAN = 0.2860
STD = 0.3530
META = {
    'adcnn.resize': '64x64',
    'adcnn.scale': '0.00392156862745098',
    'adcnn.mean': '0.2860',
    'adcnn.std': '0.3530',
}
LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
          'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']


class Example(nn.Module):
    def __init__(self):
        super().__init__()
        layers = []
        cin = 1
        for i, c in enumerate((16, 32, 64)):
            if i > 0:
                layers.append(nn.MaxPool2d(2, 2))
            layers += [nn.Conv2d(cin, c, 3, 1, 1, bias=False),
                       nn.BatchNorm2d(c), nn.ReLU()]
            cin = c
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, len(LABELS))

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.fc(torch.flatten(x, 1))


def build_model():
    torch.manual_seed(SEED)
    m = Example()
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, nonlinearity='relu')
            elif isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.normal_(0.0, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0.0, 0.1)
            elif isinstance(mod, nn.Linear):
                nn.init.normal_(mod.weight, 0.0, 1.0 / np.sqrt(mod.in_features))
                mod.bias.normal_(0.0, 0.1)
    return m.eval()


def sample_image():
    """28x28 uint8 trouser-like silhouette with soft (grey) edges."""
    h = w = 28
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    img = np.zeros((h, w))
    top, crotch, bottom = 3.0, 11.0, 26.0
    # waistband + hips: one block from x=8..20
    inside = (yy >= top) & (yy < crotch) & (xx >= 8) & (xx < 20)
    # two legs flaring slightly outward, gap in the middle
    t = np.clip((yy - crotch) / (bottom - crotch), 0, 1)
    left = (yy >= crotch) & (yy < bottom) & (xx >= 8 - 2 * t) & (xx < 13.0 - t)
    right = (yy >= crotch) & (yy < bottom) & (xx >= 15.0 + t) & (xx < 20 + 2 * t)
    img[inside | left | right] = 1.0
    # soften: 3x3 box blur, plus vertical shading and a darker waistband
    pad = np.pad(img, 1)
    blur = sum(pad[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) / 9.0
    shade = 0.75 + 0.25 * (yy / h)
    out = blur * shade * 255.0
    out[(yy >= top) & (yy < top + 2) & (xx >= 8) & (xx < 20)] *= 0.6
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def write_png_gray(path, a):
    """Minimal 8-bit grayscale PNG writer (zlib + struct), no PIL needed."""
    h, w = a.shape
    raw = b''.join(b'\x00' + a[y].tobytes() for y in range(h))

    def chunk(tag, data):
        c = tag + data
        return struct.pack('>I', len(data)) + c + \
            struct.pack('>I', zlib.crc32(c) & 0xffffffff)

    png = b'\x89PNG\r\n\x1a\n' + \
        chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) + \
        chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(png)


def bilinear_weights(o, i):
    """[o, i] matrix of 1-D bilinear, half-pixel centres, edge clamp."""
    s = np.clip((np.arange(o) + 0.5) * (i / o) - 0.5, 0, i - 1)
    lo = np.floor(s).astype(int)
    hi = np.minimum(lo + 1, i - 1)
    f = s - lo
    m = np.zeros((o, i))
    m[np.arange(o), lo] += 1 - f
    m[np.arange(o), hi] += f
    return m


def resize_u8_numpy(a, oh, ow):
    """PIL-compatible 8-bit bilinear: horizontal pass, round, vertical, round."""
    ih, iw = a.shape
    t = np.floor(a.astype(np.float64) @ bilinear_weights(ow, iw).T + 0.5)
    t = np.clip(t, 0, 255)
    r = np.floor(bilinear_weights(oh, ih) @ t + 0.5)
    return np.clip(r, 0, 255).astype(np.uint8)


def resize_u8(a):
    if Image is not None:
        r = np.asarray(Image.fromarray(a, mode='L').resize(
            (SIZE, SIZE), Image.BILINEAR), dtype=np.uint8)
        assert np.array_equal(r, resize_u8_numpy(a, SIZE, SIZE))
        return r
    return resize_u8_numpy(a, SIZE, SIZE)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.dirname(os.path.abspath(__file__))
    os.makedirs(os.path.join(outdir, 'models'), exist_ok=True)
    os.makedirs(os.path.join(outdir, 'images'), exist_ok=True)

    model = build_model()
    onnx_path = os.path.join(outdir, 'models', 'example.onnx')
    dummy = torch.zeros(1, 1, SIZE, SIZE)
    torch.onnx.export(model, dummy, onnx_path, opset_version=13,
                      input_names=['input'], output_names=['logits'],
                      do_constant_folding=True)
    m = onnx.load(onnx_path)
    onnx.helper.set_model_props(m, META)
    onnx.checker.check_model(m)
    onnx.save(m, onnx_path)
    size = os.path.getsize(onnx_path)
    assert size < 500 * 1024, size

    with open(os.path.join(outdir, 'labels.txt'), 'w') as f:
        f.write(''.join(l + '\n' for l in LABELS))

    img = sample_image()
    write_png_gray(os.path.join(outdir, 'images', 'sample.png'), img)
    if Image is not None:  # read it back to make sure the PNG is valid
        back = np.asarray(Image.open(os.path.join(outdir, 'images', 'sample.png')))
        assert back.dtype == np.uint8 and np.array_equal(back, img)

    r = resize_u8(img).astype(np.float32)
    x = ((r * np.float32(SCALE) - np.float32(MEAN)) / np.float32(STD)) \
        .astype(np.float32).reshape(1, 1, SIZE, SIZE)
    x = np.ascontiguousarray(x)
    np.save(os.path.join(outdir, 'images', 'sample_input.npy'), x)
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).numpy().astype(np.float32)
    np.save(os.path.join(outdir, 'images', 'sample_logits.npy'),
            np.ascontiguousarray(logits))

    ops = sorted({n.op_type for n in m.graph.node})
    print('example.onnx %d B opset %d ops=%s' % (
        size, m.opset_import[0].version, ','.join(ops)))
    print('resize via %s; logits=%s argmax=%d (%s)' % (
        'PIL' if Image is not None else 'numpy',
        np.array2string(logits[0], precision=3), int(logits.argmax()),
        LABELS[int(logits.argmax())]))


if __name__ == '__main__':
    main()
