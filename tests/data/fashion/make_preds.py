"""PyTorch's predictions for the first N Fashion-MNIST test images, for the CI test that
adcnn agrees with PyTorch on the same model (t0300-fashion.sh). Run with /usr/bin/python3
after share/adcnn/train/train.py has trained and exported the models:

  /usr/bin/python3 tests/data/fashion/make_preds.py /tmp/train/fdsp-final.pt 300 > tests/data/fashion/pytorch-fdsp.txt

Prints one line per image: index, label, the class unpartitioned, the class with fdsp 2x2
(the tiling rule of adcnn, fdsp_forward)."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', '..', 'share', 'adcnn', 'train'))
import train  # noqa: E402
from fdsp import fdsp_forward  # noqa: E402


def main():
    ckpt, n = sys.argv[1], int(sys.argv[2])
    work = sys.argv[3] if len(sys.argv) > 3 else '/tmp/train'
    _, _, xte, yte = [torch.from_numpy(a) for a in train.load_data(work)]
    ck = torch.load(ckpt)
    model = train.build(ck['arch'])
    model.load_state_dict(ck['model'])
    model.eval()
    with torch.no_grad():
        x = train.normalize(xte[:n], ck['mean'], ck['std'])
        p1 = model.tail(fdsp_forward(model.features, x, 1)).argmax(1)
        p2 = model.tail(fdsp_forward(model.features, x, 2)).argmax(1)
    for i in range(n):
        print(i, int(yte[i]), int(p1[i]), int(p2[i]))


if __name__ == '__main__':
    main()
