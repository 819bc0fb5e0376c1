#!/usr/bin/python3
"""The data bench's reference: the same decode + augment + batch pipeline as the TypeScript loader
(src/trainer/data), written with Debian's python3-pil and numpy, parallelised the way a PyTorch
DataLoader is (a process pool). Prints one JSON line: {"workers", "images", "seconds", "ips"}.

Pipeline per training image (fastai v1 get_transforms() defaults, size 224):
open → EXIF transpose → RGB → resize short side to 224 (bilinear) → one perspective resample
for random crop + flip + warp + rotate + zoom (p_affine 0.75 each, reflection-free edge mode) →
brightness/contrast lookup table (p_lighting 0.75) → imagenet_stats → float32 HWC; batches of 64
stacked into one float32 array.
Also reports CPU ms per image over all epochs (this process + pool workers), which a busy
machine disturbs far less than images/second.
"""
import argparse, json, math, os, random, sys, time
from multiprocessing import Pool

import numpy as np
from PIL import Image, ImageOps

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def homography(src, dst):
    a, b = [], []
    for (x, y), (u, v) in zip(src, dst):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y]); b.append(u)
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y]); b.append(v)
    h = np.linalg.solve(np.array(a), np.array(b))
    return np.append(h, 1).reshape(3, 3)


def sample(rng):
    return dict(crop=(rng.random(), rng.random()), flip=rng.random() < 0.5,
                warp=[rng.uniform(-0.2, 0.2) for _ in range(4)] if rng.random() < 0.75 else None,
                rotate=rng.uniform(-10, 10) if rng.random() < 0.75 else 0.0,
                zoom=(rng.uniform(1, 1.1), rng.random(), rng.random()) if rng.random() < 0.75 else None,
                bright=rng.uniform(0.4, 0.6) if rng.random() < 0.75 else 0.5,
                contrast=math.exp(rng.uniform(math.log(0.8), math.log(1.25))) if rng.random() < 0.75 else 1.0)


def out_to_src(p, size, w, h):
    ox, oy = round((w - size) * p['crop'][1]), round((h - size) * p['crop'][0])
    m = np.array([[2 / size, 0, 1 / size - 1], [0, 2 / size, 1 / size - 1], [0, 0, 1]])
    if p['warp']:
        g = p['warp']
        m = homography([(-1, -1), (-1, 1), (1, -1), (1, 1)],
                       [(-1 - g[3], -1 - g[1]), (-1 - g[2], 1 + g[1]), (1 + g[3], -1 - g[0]), (1 + g[2], 1 + g[0])]) @ m
    if p['rotate']:
        a = math.radians(p['rotate'])
        m = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]]) @ m
    if p['zoom']:
        s, r, c = p['zoom']; k = 1 - 1 / s
        m = np.array([[1 / s, 0, k * (2 * c - 1)], [0, 1 / s, k * (2 * r - 1)], [0, 0, 1]]) @ m
    if p['flip']:
        m = np.diag([-1.0, 1, 1]) @ m
    return np.array([[size / 2, 0, size / 2 - 0.5 + ox], [0, size / 2, size / 2 - 0.5 + oy], [0, 0, 1]]) @ m


def lighting_lut(b, c):
    v = np.clip(np.arange(256) / 255.0, 1e-7, 1 - 1e-7)
    x = (np.log(v / (1 - v)) + math.log(b / (1 - b))) * c
    return (1 / (1 + np.exp(-x))).astype(np.float32)


def load(args):
    path, index, size, seed = args
    rng = random.Random(hash((seed, index)))
    p = sample(rng)
    img = ImageOps.exif_transpose(Image.open(path)).convert('RGB')
    w, h = img.size
    s = size / min(w, h)
    img = img.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BILINEAR)
    m = out_to_src(p, size, *img.size)
    m = m / m[2, 2]
    img = img.transform((size, size), Image.PERSPECTIVE, tuple(m.flatten()[:8]), Image.BILINEAR)
    lut = lighting_lut(p['bright'], p['contrast'])
    x = lut[np.asarray(img)]
    return ((x - MEAN) / STD).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', required=True)
    ap.add_argument('--workers', type=int, default=1)
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--epochs', type=int, default=2)
    a = ap.parse_args()
    files = sorted(os.path.join(a.dir, f) for f in os.listdir(a.dir) if f.endswith('.jpg'))
    n = len(files) // a.bs * a.bs  # last partial batch dropped, as in training
    best = None
    cpu0 = os.times()
    pool = Pool(a.workers) if a.workers > 1 else None
    try:
        for epoch in range(a.epochs + 1):  # epoch 0 warms up (page cache, pool start)
            order = random.Random(epoch).sample(range(len(files)), len(files))[:n]
            t = time.perf_counter()
            for b in range(0, n, a.bs):
                args = [(files[i], i, a.size, epoch) for i in order[b:b + a.bs]]
                items = pool.map(load, args, chunksize=max(1, a.bs // (a.workers * 2))) if pool else [load(x) for x in args]
                batch = np.stack(items)
                assert batch.shape == (len(args), a.size, a.size, 3)
            dt = time.perf_counter() - t
            if epoch > 0 and (best is None or dt < best):
                best = dt
    finally:
        if pool:
            pool.close(); pool.join()
    cpu1 = os.times()
    cpu = sum(getattr(cpu1, k) - getattr(cpu0, k) for k in ('user', 'system', 'children_user', 'children_system'))
    print(json.dumps({'workers': a.workers, 'images': n, 'seconds': best, 'ips': n / best,
                      'cpuMsPerImage': cpu * 1000 / (n * (a.epochs + 1))}))


if __name__ == '__main__':
    sys.exit(main())
