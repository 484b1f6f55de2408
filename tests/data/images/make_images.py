"""Makes the image fixtures and what PIL (BILINEAR resize, /255) makes of them, the
preprocessing adcnn-partition must reproduce. Run with /usr/bin/python3 (python3-pil)."""
import numpy as np
from PIL import Image

y, x = np.mgrid[0:30, 0:40]
img = np.stack([(x * 6) % 256, (y * 8) % 256, ((x + y) * 4) % 256], -1).astype(np.uint8)
img[10:20, 15:25] = [250, 20, 30]
im = Image.fromarray(img, 'RGB')
im.save('rgb.jpg', quality=90)
im.save('rgb.ppm')
im.convert('L').save('grey.pgm')


def prep(path, size, mode):
    a = Image.open(path).convert(mode).resize(size, Image.BILINEAR)
    a = np.asarray(a, dtype=np.float32) / 255.0
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return np.ascontiguousarray(a[None])


np.save('rgb_jpg_128.npy', prep('rgb.jpg', (128, 128), 'RGB'))
np.save('rgb_ppm_128.npy', prep('rgb.ppm', (128, 128), 'RGB'))
np.save('grey_pgm_128.npy', prep('grey.pgm', (128, 128), 'RGB'))
# shrinking (200x150 to 128x128) goes through PIL's widened filter
y, x = np.mgrid[0:150, 0:200]
big = np.stack([(x * 3) % 256, (y * 5) % 256, ((x * y) // 7) % 256], -1).astype(np.uint8)
Image.fromarray(big, 'RGB').save('big.ppm')
np.save('big_ppm_128.npy', prep('big.ppm', (128, 128), 'RGB'))
