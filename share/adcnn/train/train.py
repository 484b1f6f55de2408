#!/usr/bin/python3
"""Train, FDSP-fine-tune, evaluate and export adcnn's Fashion-MNIST models.

Run with Debian's PyTorch:  /usr/bin/python3 share/adcnn/train/train.py CMD ...

  data      read Fashion-MNIST (Debian's dataset-fashion-mnist), upscale all
            70,000 images to 64x64 with PIL exactly as adcnn does, and cache
            them as .npy under --work (done on demand by the other commands)
  bench     time N training batches (plain or FDSP) to size a run
  plain     train from scratch (fixed seeds; resumes from its checkpoint)
  finetune  FDSP fine-tuning from the plain model, grid drawn per batch
  recalib   measure a model's BatchNorm statistics anew over FDSP batches
            of the given grids (after fine-tuning with --bn train)
  eval      test-set accuracy unpartitioned and with fdsp 2x2, 3x3, 4x4
  export    write an ONNX model with adcnn's preprocessing metadata
  samples   write test images as 28x28 PNG and the tensors the model gets

See README.md beside this file. Everything is deterministic: seeds for
random, numpy and torch, re-seeded per epoch (so a resumed run repeats an
uninterrupted one), deterministic algorithms, one thread by default.
"""
import argparse
import gzip
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fdsp import fdsp_forward, freeze_bn  # noqa: E402

DATA_DIR = '/usr/share/datasets/fashion-mnist'
SIZE = 64
SCALE = 1.0 / 255.0
SCALE_STR = '0.00392156862745098'
LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
          'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']
SLUGS = ['tshirt-top', 'trouser', 'pullover', 'dress', 'coat',
         'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot']
# the shipped sample images: the first test-set image of each of these
# classes (Coat and Shirt, the classes most often confused, left out)
SAMPLE_CLASSES = [0, 1, 2, 3, 5, 7, 8, 9]

LOG = None


def log(*a):
    s = ' '.join(str(x) for x in a)
    line = time.strftime('%Y-%m-%d %H:%M:%S ') + s
    print(line, flush=True)
    if LOG:
        with open(LOG, 'a') as f:
            f.write(line + '\n')


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


# ---------------------------------------------------------------- data ---

def read_idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    zero, dtype, ndim = data[0] * 256 + data[1], data[2], data[3]
    assert zero == 0 and dtype == 0x08, path
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    off = 4 + 4 * ndim
    a = np.frombuffer(data, np.uint8, offset=off)
    assert a.size == int(np.prod(dims)), path
    return a.reshape(dims)


def resize_u8(a):
    """adcnn's image path: PIL bilinear on the 8-bit grey image."""
    from PIL import Image
    return np.asarray(Image.fromarray(a, mode='L').resize(
        (SIZE, SIZE), Image.BILINEAR), dtype=np.uint8)


def load_data(work):
    """(xtr uint8 [60000,64,64], ytr int64, xte, yte), cached under work."""
    os.makedirs(work, exist_ok=True)
    out = []
    for split, prefix in (('train', 'train'), ('test', 't10k')):
        xp = os.path.join(work, 'fmnist%d-%s-x.npy' % (SIZE, split))
        yp = os.path.join(work, 'fmnist%d-%s-y.npy' % (SIZE, split))
        if not (os.path.exists(xp) and os.path.exists(yp)):
            raw = read_idx(os.path.join(DATA_DIR, prefix + '-images-idx3-ubyte.gz'))
            lab = read_idx(os.path.join(DATA_DIR, prefix + '-labels-idx1-ubyte.gz'))
            big = np.stack([resize_u8(im) for im in raw])
            np.save(xp + '.tmp.npy', big)
            np.save(yp + '.tmp.npy', lab.astype(np.int64))
            os.replace(xp + '.tmp.npy', xp)
            os.replace(yp + '.tmp.npy', yp)
        out += [np.load(xp), np.load(yp)]
    return out


def norm_stats(xtr):
    """Mean and std of the 64x64 training images after *1/255, as the
    4-decimal strings stored in the model (and used in training)."""
    v = xtr.astype(np.float64) * SCALE
    return '%.4f' % v.mean(), '%.4f' % v.std()


def normalize(xu8, mean, std):
    """uint8 tensor [N,H,W] -> float32 [N,1,H,W]: (p*scale - mean)/std."""
    x = xu8.float() * np.float32(SCALE)
    return ((x - float(mean)) / float(std)).unsqueeze(1)


def augment(xu8, gen, pad=4):
    """Random horizontal flip and random crop with zero padding (uint8)."""
    n, h, w = xu8.shape
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None], xu8.flip(2), xu8)
    if pad:
        xp = F.pad(x, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        r = dy[:, None] + torch.arange(h)[None, :]
        c = dx[:, None] + torch.arange(w)[None, :]
        x = xp[torch.arange(n)[:, None, None], r[:, :, None], c[:, None, :]]
    return x


# --------------------------------------------------------------- model ---

class Net(nn.Module):
    """VGG-style: stages of (Conv3x3 pad 1 + BN + ReLU) x convs, MaxPool 2
    between stages (total stride 2**(stages-1)); tail = global average pool,
    flatten, linear. `features` is the spatial prefix, `tail` the rest."""

    def __init__(self, widths=(16, 32, 64), convs=1, classes=10):
        super().__init__()
        layers, cin = [], 1
        for i, c in enumerate(widths):
            if i > 0:
                layers.append(nn.MaxPool2d(2, 2))
            for _ in range(convs):
                layers += [nn.Conv2d(cin, c, 3, 1, 1, bias=False),
                           nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
                cin = c
        self.features = nn.Sequential(*layers)
        self.tail = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(cin, classes))

    def forward(self, x):
        return self.tail(self.features(x))


def build(arch):
    return Net(tuple(arch['widths']), arch['convs'])


def parse_widths(s):
    return [int(v) for v in s.split(',')]


# ---------------------------------------------------------- train/eval ---

@torch.no_grad()
def evaluate(model, xte, yte, mean, std, grid=1, bs=500):
    model.eval()
    correct = 0
    for i in range(0, len(xte), bs):
        x = normalize(xte[i:i + bs], mean, std)
        out = model.tail(fdsp_forward(model.features, x, grid))
        correct += (out.argmax(1) == yte[i:i + bs]).sum().item()
    return 100.0 * correct / len(xte)


def ckpt_path(work, name, tag):
    return os.path.join(work, '%s-%s.pt' % (name, tag))


def save_atomic(obj, path):
    torch.save(obj, path + '.tmp')
    os.replace(path + '.tmp', path)


def run_training(args, mode):
    """mode 'plain' or 'finetune'. Resumes from WORK/NAME-last.pt."""
    global LOG
    LOG = args.log or os.path.join(args.work, args.name + '.log')
    xtr, ytr, xte, yte = [torch.from_numpy(a) for a in load_data(args.work)]
    if mode == 'plain':
        mean, std = norm_stats(xtr.numpy())
        arch = {'widths': parse_widths(args.widths), 'convs': args.convs}
        grids = [1]
        init = None
    else:
        init = torch.load(args.init)
        mean, std, arch = init['mean'], init['std'], init['arch']
        grids = [int(g) for g in args.grids.split(',')]
    seed_all(args.seed)
    model = build(arch)
    if init is not None:
        model.load_state_dict(init['model'])
    params = [{'params': [p for n, p in model.named_parameters() if p.ndim > 1],
               'weight_decay': args.wd},
              {'params': [p for n, p in model.named_parameters() if p.ndim <= 1],
               'weight_decay': 0.0}]
    opt = torch.optim.SGD(params, lr=args.lr, momentum=0.9, nesterov=True)
    steps = math.ceil(len(xtr) / args.bs)
    total = args.epochs * steps
    if mode == 'plain':
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=args.lr, total_steps=total, pct_start=0.25,
            div_factor=20.0, final_div_factor=200.0)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    start = 0
    last = ckpt_path(args.work, args.name, 'last')
    if os.path.exists(last):
        ck = torch.load(last)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        sched.load_state_dict(ck['sched'])
        start = ck['epoch']
        log('resumed %s at epoch %d' % (args.name, start))
    nparams = sum(p.numel() for p in model.parameters())
    log('%s: %s arch=%s params=%d mean=%s std=%s epochs=%d bs=%d lr=%g wd=%g '
        'grids=%s bn=%s threads=%d seed=%d' % (
            mode, args.name, arch, nparams, mean, std, args.epochs, args.bs,
            args.lr, args.wd, grids, args.bn, torch.get_num_threads(), args.seed))
    if mode == 'finetune' and start == 0:
        log('start: test acc %.2f%%, fdsp 2x2 %.2f%%, fdsp 4x4 %.2f%%' % (
            evaluate(model, xte, yte, mean, std, 1),
            evaluate(model, xte, yte, mean, std, 2),
            evaluate(model, xte, yte, mean, std, 4)))
    for epoch in range(start, args.epochs):
        seed_all(args.seed * 1000 + epoch + 1)
        gen = torch.Generator().manual_seed(args.seed * 1000 + epoch + 1)
        grng = random.Random(args.seed * 1000 + epoch + 1)
        perm = torch.randperm(len(xtr), generator=gen)
        model.train()
        if mode == 'finetune' and args.bn == 'frozen':
            freeze_bn(model)
        t0 = time.time()
        tot_loss, tot_ok, seen, skipped = 0.0, 0, 0, 0
        for b in range(steps):
            idx = perm[b * args.bs:(b + 1) * args.bs]
            x = normalize(augment(xtr[idx], gen, args.pad), mean, std)
            y = ytr[idx]
            g = grng.choice(grids)
            out = model.tail(fdsp_forward(model.features, x, g))
            loss = F.cross_entropy(out, y, label_smoothing=args.smooth)
            opt.zero_grad(set_to_none=True)
            if not torch.isfinite(loss):
                # a first FDSP run diverged to NaN within its first epoch: a bad batch
                # is skipped, and gradients are clipped, rather than the run lost
                skipped += 1
                sched.step()
                continue
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            sched.step()
            tot_loss += loss.item() * len(y)
            tot_ok += (out.argmax(1) == y).sum().item()
            seen += len(y)
            if args.max_batches and b + 1 >= args.max_batches:
                break
        dt = time.time() - t0
        msg = 'epoch %d/%d train loss %.4f acc %.2f%% lr %.5f %.0fs' % (
            epoch + 1, args.epochs, tot_loss / seen, 100.0 * tot_ok / seen,
            sched.get_last_lr()[0], dt)
        if skipped:
            msg += ' skipped %d batches' % skipped
        t1 = time.time()
        acc = evaluate(model, xte, yte, mean, std, 1)
        msg += ' | test %.2f%%' % acc
        if mode == 'finetune':
            msg += ' fdsp2x2 %.2f%% fdsp4x4 %.2f%%' % (
                evaluate(model, xte, yte, mean, std, 2),
                evaluate(model, xte, yte, mean, std, 4))
        msg += ' (eval %.0fs)' % (time.time() - t1)
        log(msg)
        state = {'model': model.state_dict(), 'opt': opt.state_dict(),
                 'sched': sched.state_dict(), 'epoch': epoch + 1,
                 'arch': arch, 'mean': mean, 'std': std, 'grids': grids,
                 'mode': mode}
        save_atomic(state, last)
    final = ck if start >= args.epochs else state
    out = {k: final[k] for k in ('model', 'arch', 'mean', 'std', 'grids', 'mode')}
    save_atomic(out, ckpt_path(args.work, args.name, 'final'))
    log('done: %s' % ckpt_path(args.work, args.name, 'final'))


@torch.no_grad()
def recalibrate_bn(model, xtr, mean, std, grids, batches, bs, seed):
    """BatchNorm statistics measured anew: reset, then averaged (not a moving
    average) over `batches` training batches in FDSP, the grids taken in turn, so
    that they weigh every grid alike rather than the last few batches seen."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    gen = torch.Generator().manual_seed(seed)
    for b in range(batches):
        idx = torch.randint(0, len(xtr), (bs,), generator=gen)
        x = normalize(xtr[idx], mean, std)
        model.tail(fdsp_forward(model.features, x, grids[b % len(grids)]))
    for m in bns:
        m.momentum = 0.1
    model.eval()


def cmd_recalib(args):
    global LOG
    LOG = os.path.join(args.work, os.path.basename(args.out) + '.log')
    xtr, ytr, xte, yte = [torch.from_numpy(a) for a in load_data(args.work)]
    ck = torch.load(args.ckpt)
    model = build(ck['arch'])
    model.load_state_dict(ck['model'])
    grids = [int(g) for g in args.grids.split(',')]
    seed_all(args.seed)
    recalibrate_bn(model, xtr, ck['mean'], ck['std'], grids, args.batches, args.bs, args.seed)
    accs = [evaluate(model, xte, yte, ck['mean'], ck['std'], g) for g in (1, 2, 3, 4)]
    log('recalib %s grids=%s batches=%d: test %.2f%% fdsp2x2 %.2f%% fdsp3x3 %.2f%% fdsp4x4 %.2f%%'
        % (args.ckpt, grids, args.batches, *accs))
    out = {k: ck[k] for k in ('model', 'arch', 'mean', 'std', 'grids', 'mode')}
    out['model'] = model.state_dict()
    out['bn_grids'] = grids
    save_atomic(out, args.out)


def cmd_bench(args):
    torch.set_num_threads(args.threads)
    xtr, ytr, _, _ = [torch.from_numpy(a) for a in load_data(args.work)]
    seed_all(args.seed)
    model = build({'widths': parse_widths(args.widths), 'convs': args.convs})
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    steps = math.ceil(len(xtr) / args.bs)
    for g in [int(v) for v in args.grids.split(',')]:
        times = []
        for b in range(args.batches + 2):
            idx = torch.randint(0, len(xtr), (args.bs,), generator=gen)
            t0 = time.time()
            x = normalize(augment(xtr[idx], gen), 0.286, 0.353)
            out = model.tail(fdsp_forward(model.features, x, g))
            loss = F.cross_entropy(out, ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if b >= 2:
                times.append(time.time() - t0)
        t = float(np.median(times))
        print('widths=%s convs=%d grid=%dx%d: %.3f s/batch of %d -> %.1f min/epoch' % (
            args.widths, args.convs, g, g, t, args.bs, t * steps / 60), flush=True)


def cmd_eval(args):
    xtr, ytr, xte, yte = [torch.from_numpy(a) for a in load_data(args.work)]
    lines = ['%-28s %8s %8s %8s %8s' % ('model', '1x1', 'fdsp2x2', 'fdsp3x3', 'fdsp4x4')]
    for path in args.ckpt:
        ck = torch.load(path)
        model = build(ck['arch'])
        model.load_state_dict(ck['model'])
        accs = [evaluate(model, xte, yte, ck['mean'], ck['std'], g) for g in (1, 2, 3, 4)]
        lines.append('%-28s' % os.path.basename(path) +
                     ''.join(' %7.2f%%' % a for a in accs))
    text = ('Fashion-MNIST test set (10,000 images), PyTorch, top-1\n' +
            '\n'.join(lines) + '\n')
    if args.out:
        with open(args.out + '.tmp', 'w') as f:
            f.write(text)
        os.replace(args.out + '.tmp', args.out)
    print(text, end='')


def cmd_export(args):
    import onnx
    ck = torch.load(args.ckpt)
    model = build(ck['arch'])
    model.load_state_dict(ck['model'])
    model.eval()
    dummy = torch.zeros(1, 1, SIZE, SIZE)
    tmp = args.out + '.tmp'
    torch.onnx.export(model, dummy, tmp, opset_version=13,
                      input_names=['input'], output_names=['logits'],
                      do_constant_folding=True)
    m = onnx.load(tmp)
    meta = {'adcnn.resize': '%dx%d' % (SIZE, SIZE), 'adcnn.scale': SCALE_STR,
            'adcnn.mean': ck['mean'], 'adcnn.std': ck['std']}
    if args.doc:
        m.doc_string = args.doc
    onnx.helper.set_model_props(m, meta)
    onnx.checker.check_model(m)
    onnx.save(m, tmp)
    size = os.path.getsize(tmp)
    assert size <= 2 * 1024 * 1024, size
    os.replace(tmp, args.out)
    print('wrote %s (%d bytes, ops %s)' % (
        args.out, size, sorted({n.op_type for n in m.graph.node})))


def cmd_samples(args):
    from PIL import Image
    raw = read_idx(os.path.join(DATA_DIR, 't10k-images-idx3-ubyte.gz'))
    lab = read_idx(os.path.join(DATA_DIR, 't10k-labels-idx1-ubyte.gz'))
    xtr = load_data(args.work)[0]
    mean, std = norm_stats(xtr)
    os.makedirs(args.out, exist_ok=True)
    tensors, names = [], []
    for c in SAMPLE_CLASSES:
        i = int(np.nonzero(lab == c)[0][0])
        path = os.path.join(args.out, 'fashion-%d-%s.png' % (i, SLUGS[c]))
        Image.fromarray(raw[i], mode='L').save(path)
        back = np.asarray(Image.open(path))
        assert back.dtype == np.uint8 and np.array_equal(back, raw[i])
        big = torch.from_numpy(resize_u8(back)[None].copy())
        tensors.append(normalize(big, mean, std)[0].numpy())
        names.append('%s %d %s\n' % (os.path.basename(path), c, LABELS[c]))
        print(path)
    a = np.stack(tensors).astype(np.float32)
    np.save(os.path.join(args.out, 'fashion-inputs.npy'), a)
    with open(os.path.join(args.out, 'fashion-inputs.txt'), 'w') as f:
        f.write('# fashion-inputs.npy [%d,1,%d,%d] float32, in this order: '
                'PNG, class index, class (mean %s, std %s)\n'
                % (len(names), SIZE, SIZE, mean, std) + ''.join(names))
    print('fashion-inputs.npy', a.shape, 'mean', mean, 'std', std)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--work', default='/tmp/train', help='cache and checkpoints')
    p.add_argument('--threads', type=int, default=1)
    sub = p.add_subparsers(dest='cmd', required=True)

    def train_opts(s, name, epochs, lr, wd, bs=128):
        s.add_argument('--name', default=name, help='checkpoint/log name')
        s.add_argument('--log', help='log file (default WORK/NAME.log)')
        s.add_argument('--epochs', type=int, default=epochs)
        s.add_argument('--bs', type=int, default=bs)
        s.add_argument('--lr', type=float, default=lr)
        s.add_argument('--wd', type=float, default=wd)
        s.add_argument('--pad', type=int, default=4, help='random-crop padding')
        s.add_argument('--smooth', type=float, default=0.0, help='label smoothing')
        s.add_argument('--clip', type=float, default=5.0, help='gradient norm clip')
        s.add_argument('--seed', type=int, default=1)
        s.add_argument('--max-batches', type=int, default=0,
                       help='stop each epoch after N batches (testing)')

    s = sub.add_parser('data')
    s = sub.add_parser('bench')
    s.add_argument('--widths', default='16,32,64')
    s.add_argument('--convs', type=int, default=1)
    s.add_argument('--bs', type=int, default=128)
    s.add_argument('--batches', type=int, default=20)
    s.add_argument('--grids', default='1')
    s.add_argument('--seed', type=int, default=1)
    s = sub.add_parser('plain')
    train_opts(s, 'plain', 10, 0.1, 5e-4)
    s.add_argument('--widths', default='16,32,64,128')
    s.add_argument('--convs', type=int, default=1)
    s.set_defaults(bn='train')
    s = sub.add_parser('finetune')
    train_opts(s, 'fdsp', 4, 0.01, 5e-4)
    s.add_argument('--init', default='/tmp/train/plain-final.pt')
    s.add_argument('--grids', default='1,2,3,4',
                   help='grid sizes R (RxR) drawn per batch')
    s.add_argument('--bn', choices=('frozen', 'train'), default='frozen',
                   help='BatchNorm during fine-tuning: frozen statistics '
                        '(what adcnn runs) or batch statistics')
    s = sub.add_parser('recalib')
    s.add_argument('ckpt')
    s.add_argument('out')
    s.add_argument('--grids', default='1,2,3,4', help='grids the statistics are measured on')
    s.add_argument('--batches', type=int, default=240)
    s.add_argument('--bs', type=int, default=256)
    s.add_argument('--seed', type=int, default=1)
    s = sub.add_parser('eval')
    s.add_argument('ckpt', nargs='+')
    s.add_argument('--out')
    s = sub.add_parser('export')
    s.add_argument('ckpt')
    s.add_argument('out')
    s.add_argument('--doc', help='ONNX doc_string')
    s = sub.add_parser('samples')
    s.add_argument('--out', default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', 'images'))
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    if args.cmd == 'data':
        xtr, ytr, xte, yte = load_data(args.work)
        print(xtr.shape, xte.shape, 'mean/std', norm_stats(xtr))
    elif args.cmd == 'bench':
        cmd_bench(args)
    elif args.cmd in ('plain', 'finetune'):
        run_training(args, args.cmd)
    elif args.cmd == 'recalib':
        cmd_recalib(args)
    elif args.cmd == 'eval':
        cmd_eval(args)
    elif args.cmd == 'export':
        cmd_export(args)
    elif args.cmd == 'samples':
        cmd_samples(args)


if __name__ == '__main__':
    main()
