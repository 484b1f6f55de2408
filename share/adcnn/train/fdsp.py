"""FDSP (Fully Decomposable Spatial Partition) forward pass for PyTorch.

This reproduces what adcnn's `fdsp` mode does at inference time, so that a
model can be fine-tuned for it:

  * the input is cut into a grid of R x C tiles;
  * each tile runs through the spatial prefix (`features`) on its own, with
    the ordinary zero padding of its convolutions at the tile's own borders
    (it never sees its neighbours' pixels);
  * the tile outputs are stitched into the split-point tensor, which then
    goes to the tail (global pooling, classifier, ...).

Tiling rule (the same in every adcnn tool, see DESIGN.md): the prefix's
output grid Ho x Wo is split as evenly as possible, larger tiles first
(part i of n over L has L//n + (1 if i < L%n else 0) rows), and an output
boundary o maps to the input boundary o*S, S = H_in/Ho the total stride of
the prefix (an integer). Non-integer strides (prefixes without padding) are
not supported here.

Use:

    from fdsp import fdsp_forward, FDSP

    y = fdsp_forward(model.features, x, (2, 2))   # stitched split tensor
    logits = model.tail(y)

    # or wrap a model that has a spatial prefix and a tail:
    m = FDSP(model.features, model.tail, grid=(4, 4))
    logits = m(x)

Tiles of the same size are run through `features` as one batch (for speed);
a grid has at most four distinct tile shapes. BatchNorm layers in training
mode therefore compute their batch statistics per group of equal-sized
tiles; fine-tune with BatchNorm frozen (`freeze_bn`) to train exactly what
adcnn runs (adcnn folds one fixed set of BN statistics into the convolutions).
"""
import torch
import torch.nn as nn

__all__ = ['split_sizes', 'tile_plan', 'prefix_stride', 'fdsp_forward',
           'FDSP', 'freeze_bn']


def split_sizes(length, parts):
    """Sizes of `parts` pieces of `length`, as even as possible, larger first."""
    if parts < 1 or parts > length:
        raise ValueError('cannot split %d into %d parts' % (length, parts))
    return [length // parts + (1 if i < length % parts else 0)
            for i in range(parts)]


def _bounds(length, parts):
    b = [0]
    for s in split_sizes(length, parts):
        b.append(b[-1] + s)
    return b


def tile_plan(in_hw, out_hw, grid):
    """List of tiles for a grid (R, C) over an input of in_hw=(H, W) whose
    prefix output is out_hw=(Ho, Wo).

    Each tile is a dict with 'out' = (r0, r1, c0, c1) in the split tensor and
    'in' = (r0, r1, c0, c1) in the input, row-major order (as adcnn numbers
    its tiles).
    """
    (h, w), (ho, wo) = in_hw, out_hw
    rows, cols = grid
    if h % ho or w % wo or h // ho != w // wo:
        raise ValueError('input %dx%d is not an integer multiple of the '
                         'prefix output %dx%d' % (h, w, ho, wo))
    s = h // ho
    rb, cb = _bounds(ho, rows), _bounds(wo, cols)
    tiles = []
    for i in range(rows):
        for j in range(cols):
            o = (rb[i], rb[i + 1], cb[j], cb[j + 1])
            tiles.append({'out': o, 'in': tuple(v * s for v in o)})
    return tiles


_stride_cache = {}


def prefix_stride(features, in_hw, channels, device=None, dtype=None):
    """Output spatial size (Ho, Wo) of `features` for an input of in_hw.

    Found by running a 1-sample zero tensor through it once (in eval mode,
    without gradients) and cached per (module, size, channels).
    """
    key = (id(features), tuple(in_hw), channels)
    if key not in _stride_cache:
        was = features.training
        features.eval()
        with torch.no_grad():
            y = features(torch.zeros(1, channels, in_hw[0], in_hw[1],
                                     device=device, dtype=dtype))
        features.train(was)
        _stride_cache[key] = (y.shape[-2], y.shape[-1])
    return _stride_cache[key]


def fdsp_forward(features, x, grid):
    """Run `features` on x (N, C, H, W) cut into a grid of tiles, each tile
    alone, and stitch the outputs.

    grid: (R, C) or an int R for R x R. (1, 1) is the plain forward pass.
    Returns the stitched split-point tensor, of the unpartitioned shape.
    """
    if isinstance(grid, int):
        grid = (grid, grid)
    if tuple(grid) == (1, 1):
        return features(x)
    n, ch, h, w = x.shape
    ho, wo = prefix_stride(features, (h, w), ch, x.device, x.dtype)
    tiles = tile_plan((h, w), (ho, wo), grid)
    # group tiles of equal input size, to run each group as one batch
    groups = {}
    for t in tiles:
        r0, r1, c0, c1 = t['in']
        groups.setdefault((r1 - r0, c1 - c0), []).append(t)
    rows = [None] * len(tiles)
    index = {id(t): k for k, t in enumerate(tiles)}
    for (th, tw), ts in groups.items():
        batch = torch.cat([x[:, :, t['in'][0]:t['in'][1], t['in'][2]:t['in'][3]]
                           for t in ts], 0)
        y = features(batch)
        parts = torch.split(y, n, 0)
        for t, p in zip(ts, parts):
            r0, r1, c0, c1 = t['out']
            if p.shape[-2] != r1 - r0 or p.shape[-1] != c1 - c0:
                raise RuntimeError(
                    'tile %s of input %dx%d gave %dx%d outputs, expected %dx%d'
                    % (t['in'], th, tw, p.shape[-2], p.shape[-1],
                       r1 - r0, c1 - c0))
            rows[index[id(t)]] = p
    # stitch: concatenate the tiles of each grid row along W, then rows along H
    r, c = grid
    band = [torch.cat(rows[i * c:(i + 1) * c], 3) for i in range(r)]
    out = torch.cat(band, 2)
    assert out.shape[-2:] == (ho, wo), (out.shape, ho, wo)
    return out


class FDSP(nn.Module):
    """A model = spatial prefix + tail, run the FDSP way.

    grid: fixed grid (R, C), or None to use `self.grid` set by the caller
    (e.g. drawn per batch in a training loop). The wrapped modules are the
    original ones (shared parameters), so training this trains the model.
    """

    def __init__(self, features, tail, grid=(2, 2)):
        super().__init__()
        self.features = features
        self.tail = tail
        self.grid = grid

    def forward(self, x, grid=None):
        g = self.grid if grid is None else grid
        return self.tail(fdsp_forward(self.features, x, g))


def freeze_bn(module):
    """Put every BatchNorm layer of `module` in eval mode (running statistics
    used and not updated; its affine weight and bias still train). Call it
    after module.train(), which would switch them back."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
    return module
