#!/usr/bin/python3
# The PyTorch side of bench/quality.ts: the same recipe as the Learner, written out in plain
# PyTorch 1.13 (Debian's /usr/bin/python3), on the same PNG files and the same split.
#   model: torchvision resnet18 body (random init, torchvision's) + fastai's head
#          (AdaptiveConcatPool, BN1d, Dropout 0.25, Linear 1024→512, ReLU, BN1d, Dropout 0.5,
#          Linear 512→c; kaiming_normal_ head init), layer groups stem..layer2 / layer3..4 / head
#   opt:   fastai's Adam with true weight decay = torch AdamW(betas=(mom, 0.99), eps=1e-5),
#          momentum scheduled with the lr; wd on every param in fit_one_cycle (v1's bn_wd=True), none
#          on BatchNorm params and biases in fine_tune (v2's wd_bn_bias=False), as the Learner
#   fit_one_cycle: the Learner's fitOneCycle (v1 schedule: int(n·0.3) warm-up steps, cosine
#          max/25 → max → max/(25·1e4), moms 0.95 → 0.85 → 0.95)
#   fine_tune: v2's fine_tune: freeze (only the head and every BatchNorm train), one-cycle for 1
#          epoch at slice(base_lr), pct_start 0.99; base_lr /= 2; unfreeze (fresh optimiser
#          state); one-cycle at slice(base_lr/100, base_lr), pct_start 0.3, div 5, div_final 1e5
#   data:  PNG → RGB → 32 px (Lanczos, as sharp) → /255 → ImageNet stats; train shuffled with
#          drop_last, no augmentation; valid in order
# Prints one line: RESULT {"error": ..., "seconds": ..., ...}
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def load(items, size):
    xs = np.empty((len(items), 3, size, size), dtype=np.float32)
    for i, (f, _) in enumerate(items):
        im = Image.open(f).convert('RGB')
        if im.size != (size, size):
            # short side to size, centre crop (the Learner's decodeCenterCrop)
            w, h = im.size
            s = size / min(w, h)
            im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.LANCZOS)
            w, h = im.size
            l, t = (w - size) // 2, (h - size) // 2
            im = im.crop((l, t, l + size, t + size))
        a = (np.asarray(im, dtype=np.float32) / 255.0 - MEAN) / STD
        xs[i] = a.transpose(2, 0, 1)
    return torch.from_numpy(xs), torch.tensor([y for _, y in items], dtype=torch.long)


class ConcatPool(nn.Module):
    def forward(self, x):
        return torch.cat([F.adaptive_max_pool2d(x, 1), F.adaptive_avg_pool2d(x, 1)], 1).flatten(1)


def load_init(r, head, prefix):
    """The Learner's initial weights (bench/quality.ts --paired): conv HWIO → OIHW, linear [in, out] → [out, in]."""
    index = json.load(open(prefix + '.json'))
    raw = np.fromfile(prefix + '.bin', dtype=np.float32)
    body_state = r.state_dict()
    with torch.no_grad():
        for name, e in index.items():
            a = torch.from_numpy(raw[e['offset'] // 4:e['offset'] // 4 + int(np.prod(e['shape']))].reshape(e['shape']).copy())
            if a.dim() == 4:
                a = a.permute(3, 2, 0, 1)
            elif a.dim() == 2:
                a = a.t()
            if name.startswith('body.'):
                body_state[name[5:]].copy_(a)
            else:
                k, field = name[5:].split('.')
                getattr(head[int(k)], field).copy_(a)


def make_model(c, init=None):
    r = torchvision.models.resnet18()
    body = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3, r.layer4)
    head = nn.Sequential(ConcatPool(), nn.Identity(), nn.BatchNorm1d(1024), nn.Dropout(0.25), nn.Linear(1024, 512),
                         nn.ReLU(inplace=True), nn.BatchNorm1d(512), nn.Dropout(0.5), nn.Linear(512, c))
    for m in head:
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight)
            nn.init.zeros_(m.bias)
    if init:
        load_init(r, head, init)
    model = nn.Sequential(body, head)
    groups = [list(body[:6].parameters()), list(body[6:].parameters()), list(head.parameters())]
    bn = {id(p) for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for p in m.parameters()}
    return model, groups, bn


def anneal_cos(start, end, pct):
    return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)


def one_cycle_v1(max_lrs, total, step, div=25, pct=0.3, final_div=25 * 1e4, moms=(0.95, 0.85)):
    a1 = int(total * pct)
    a2 = total - a1
    if step < a1:
        p = step / a1
        return [anneal_cos(m / div, m, p) for m in max_lrs], anneal_cos(moms[0], moms[1], p)
    p = (step - a1) / a2 if a2 > 0 else 1
    return [anneal_cos(m, m / final_div, p) for m in max_lrs], anneal_cos(moms[1], moms[0], p)


def sched_cos(start, end, pos):
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def combined_cos(pct, start, middle, end, pos):
    if pos < pct:
        return sched_cos(start, middle, pos / pct)
    return sched_cos(middle, end, (pos - pct) / (1 - pct) if pct < 1 else 1)


def one_cycle_v2(max_lrs, total, step, div, pct, div_final=1e5, moms=(0.95, 0.85, 0.95)):
    pos = step / total
    return [combined_cos(pct, m / div, m, m / div_final, pos) for m in max_lrs], combined_cos(pct, *moms, pos)


def even_mults(start, stop, n):
    step = (stop / start) ** (1 / (n - 1))
    return [start * step ** i for i in range(n)]


def run_phase(model, groups, bn, trainable_from, epochs, sched, xt, yt, bs, wd, gen, log=None, order=None, no_wd=frozenset()):
    for g, ps in enumerate(groups):
        for p in ps:
            p.requires_grad_(g >= trainable_from or id(p) in bn)
    # per layer group: the decayed params, then those exempt from weight decay (`no_wd`)
    param_groups, group_of = [], []
    for g, ps in enumerate(groups):
        for exempt in (False, True):
            sel = [p for p in ps if (id(p) in no_wd) == exempt]
            if sel:
                param_groups.append({'params': sel, 'weight_decay': 0.0 if exempt else wd})
                group_of.append(g)
    opt = torch.optim.AdamW(param_groups, lr=1e-3, betas=(0.95, 0.99), eps=1e-5, weight_decay=wd)
    n_batches = len(xt) // bs
    total = epochs * n_batches
    step = 0
    losses = []
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for b in range(n_batches):
            idx = perm[b * bs:(b + 1) * bs] if order is None else order.pop(0)
            lrs, mom = sched(total, step)
            for pg, g in zip(opt.param_groups, group_of):
                pg['lr'] = lrs[g]
                pg['betas'] = (mom, 0.99)
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            step += 1
        if log:
            log(losses[-1])
    return losses


@torch.no_grad()
def error_rate(model, xv, yv, bs):
    model.eval()
    wrong = 0
    for b in range(0, len(xv), bs):
        wrong += (model(xv[b:b + bs]).argmax(1) != yv[b:b + bs]).sum().item()
    return wrong / len(xv)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--split', required=True, help='JSON {classes, train: [[file, y]], valid: [[file, y]]}')
    ap.add_argument('--recipe', choices=['fine_tune', 'fit_one_cycle'], required=True)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--epochs', type=int, default=5)
    ap.add_argument('--bs', type=int, default=64)
    ap.add_argument('--lr', type=float, default=1e-2)
    ap.add_argument('--wd', type=float, default=1e-2)
    ap.add_argument('--size', type=int, default=32)
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--init', help='initial weights written by bench/quality.ts --paired (prefix of .json/.bin)')
    ap.add_argument('--order', help='JSON list of training batches (file lists) in the Learner\'s order')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    split = json.load(open(a.split))
    xt, yt = load(split['train'], a.size)
    xv, yv = load(split['valid'], a.size)
    gen = torch.Generator().manual_seed(a.seed)
    model, groups, bn = make_model(len(split['classes']), a.init)
    order = None
    if a.order:
        where = {f: i for i, (f, _) in enumerate(split['train'])}
        order = [torch.tensor([where[f] for f in batch]) for batch in json.load(open(a.order))]
    t0 = time.time()

    def log(loss):
        print(f'    torch {a.recipe} seed {a.seed}: epoch done, last train loss {loss:.3f}, valid error {error_rate(model, xv, yv, a.bs):.3f}, {time.time() - t0:.0f} s',
              file=sys.stderr, flush=True)
    if a.recipe == 'fit_one_cycle':
        max_lrs = [a.lr] * 3
        losses = run_phase(model, groups, bn, 0, a.epochs, lambda n, i: one_cycle_v1(max_lrs, n, i), xt, yt, a.bs, a.wd, gen, log, order)
    else:
        no_wd = bn | {id(p) for name, p in model.named_parameters() if name.endswith('bias')}
        frozen = [a.lr / 10, a.lr / 10, a.lr]
        losses = run_phase(model, groups, bn, 2, 1, lambda n, i: one_cycle_v2(frozen, n, i, div=25, pct=0.99), xt, yt, a.bs, a.wd, gen, log, order, no_wd)
        unfrozen = even_mults(a.lr / 2 / 100, a.lr / 2, 3)
        losses += run_phase(model, groups, bn, 0, a.epochs - 1, lambda n, i: one_cycle_v2(unfrozen, n, i, div=5, pct=0.3), xt, yt, a.bs, a.wd, gen, log, order, no_wd)
    seconds = time.time() - t0
    err = error_rate(model, xv, yv, a.bs)
    print('RESULT ' + json.dumps({'error': err, 'seconds': round(seconds, 1), 'finalTrainLoss': losses[-1], 'torch': torch.__version__,
                                  'torchvision': torchvision.__version__, 'threads': torch.get_num_threads()}), flush=True)


if __name__ == '__main__':
    main()
