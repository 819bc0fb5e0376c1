#!/usr/bin/python3
"""Reference gradients for the gradient parity test (test/unit/gradient-parity.test.ts).

For each architecture: torchvision's resnet body (random init, randomised BatchNorm affine
parameters) and a fastai head without dropout, in training mode (BatchNorm on batch statistics, as
a training step runs), on a fixed input and labels; the mean cross-entropy and the gradient of every
parameter by PyTorch's autograd, computed in float64 (the reference) and in float32 (how far
PyTorch's own fp32 is from it). A random-init deep net in training mode is ill-conditioned:
resnet50's conv1 gradient in PyTorch fp32 is ~2e-2 away from float64, so fp32-against-fp32 at 1e-4
would test rounding luck, not kernels.

usage: /usr/bin/python3 torch_grad_reference.py OUT_DIR [--archs resnet18,resnet34,resnet50] [--size 64] [--batch 4] [--classes 5]
Writes OUT_DIR/<arch>-grad.safetensors: the state (body.* torchvision names with a 'body.' prefix,
head.*), 'input' (NCHW), 'labels' (I64), and in float64: 'logits', 'loss', 'grad.<name>' for every
parameter in torch layout; and 'fp32err.<name>' / 'fp32err.logits': PyTorch fp32's relative L2
error against them ('fp32clerr.*': the same with the body in channels-last memory format).
"""
import argparse
import os
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import fastai_head, randomise_bn, save_safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--archs', default='resnet18,resnet34,resnet50')
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--batch', type=int, default=4)
    ap.add_argument('--classes', type=int, default=5)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    for i, arch in enumerate(args.archs.split(',')):
        torch.manual_seed(10 + i)
        gen = torch.Generator().manual_seed(200 + i)
        net = getattr(torchvision.models, arch)(weights=None)
        randomise_bn(net, gen)
        body = nn.Sequential(*list(net.children())[:-2])
        head = fastai_head(net.fc.in_features, args.classes, ps=(0.0, 0.0))
        randomise_bn(head, gen)
        x = torch.randn(args.batch, 3, args.size, args.size, generator=gen)
        y = torch.arange(args.batch) % args.classes
        state = {f'body.{k}': v.clone() for k, v in net.state_dict().items() if not k.startswith('fc.')}
        state.update({f'head.{k}': v.clone() for k, v in head.state_dict().items()})
        runs = {}
        # fp32 as PyTorch defaults to (contiguous NCHW), fp32 channels-last (the layout the torch
        # backend computes in), and the float64 truth
        for key, dtype, fmt in (('fp32', torch.float32, torch.contiguous_format), ('fp32cl', torch.float32, torch.channels_last),
                                ('fp64', torch.float64, torch.contiguous_format)):
            b, h = body.to(dtype).to(memory_format=fmt).train(), head.to(dtype).train()
            params = {f'body.{n}': p for n, p in net.named_parameters() if not n.startswith('fc.')}
            params.update({f'head.{n}': p for n, p in h.named_parameters()})
            for p in params.values():
                p.grad = None
            logits = h(b(x.to(dtype).contiguous(memory_format=fmt)))
            loss = nn.functional.cross_entropy(logits, y)
            loss.backward()
            runs[key] = (logits.detach().clone(), loss.detach().reshape(1).clone(), {n: p.grad.clone().contiguous() for n, p in params.items()})
        (l32, _, g32), (lcl, _, gcl), (logits, loss, grads) = runs['fp32'], runs['fp32cl'], runs['fp64']
        rel = lambda a, b: ((a.double() - b).norm() / b.norm()).reshape(1)
        out = dict(state)
        out.update({f'grad.{n}': g for n, g in grads.items()})
        out.update({f'fp32err.{n}': rel(g32[n], g) for n, g in grads.items()})
        out.update({f'fp32clerr.{n}': rel(gcl[n], g) for n, g in grads.items()})
        out.update({'input': x, 'labels': y, 'logits': logits, 'loss': loss, 'fp32err.logits': rel(l32, logits), 'fp32clerr.logits': rel(lcl, logits)})
        save_safetensors(os.path.join(args.out, f'{arch}-grad.safetensors'), out)
        print(f'{arch}: loss {loss.item():.6f}, {len(grads)} gradients, PyTorch fp32 worst gradient error {max(v.item() for k, v in out.items() if k.startswith("fp32err.grad") or k.startswith("fp32err.body") or k.startswith("fp32err.head")):.2e}')


if __name__ == '__main__':
    main()
