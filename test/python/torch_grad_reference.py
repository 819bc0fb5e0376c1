#!/usr/bin/python3
"""Reference gradients for the gradient parity test (test/unit/gradient-parity.test.ts).

Two steps, because the reference takes the ReLU decisions of the run it checks:

  state OUT_DIR [--archs resnet18,resnet34,resnet50] [--size 64] [--batch 8] [--classes 5]
      For each architecture: torchvision's resnet body (random init, randomised BatchNorm affine
      parameters; the last BatchNorm of every residual branch scaled to gamma in [0.1, 0.3], as in
      a trained resnet, where the branches are small next to the identity) and a fastai head
      without dropout; a fixed input and labels. Writes OUT_DIR/<arch>-state.safetensors: the state
      (body.* torchvision names with a 'body.' prefix, head.*), 'input' (NCHW), 'labels' (I64).

  grad OUT_DIR --arch ARCH --masks MASKS
      MASKS holds 'mask.0' … 'mask.K': where each ReLU of the checked run, in execution order, let
      its input through (1) or not (0), NCHW. The model from <arch>-state.safetensors, in training
      mode (BatchNorm on batch statistics, as a training step runs), with every ReLU replaced by
      multiplication with its mask; mean cross-entropy and every parameter's gradient by PyTorch's
      autograd in float64 (the reference) and in float32 (how far PyTorch's own fp32 is from it).
      Writes OUT_DIR/<arch>-grad.safetensors: 'logits', 'loss', 'grad.<name>' (float64, torch
      layout) and 'fp32err.<name>' / 'fp32err.logits' (PyTorch fp32's relative L2 error).

Why the masks: a pre-activation within rounding of zero flips its ReLU under any change of
summation order, and one flip deep in a resnet moves a BatchNorm bias gradient by 1e-2. Which ones
flip is luck, so the truth is computed on the checked run's own decisions; what is left to compare
is the arithmetic of every kernel, forward and backward.
"""
import argparse
import os
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import fastai_head, load_safetensors, randomise_bn, save_safetensors  # noqa: E402

RESIDUAL_GAMMA_SCALE = 0.2


class MaskedReLU(nn.Module):
    """y = x · mask, the next of the checked run's ReLU decisions (one replay shared by every ReLU, in call order)."""

    def __init__(self, replay):
        super().__init__()
        self.replay = replay

    def forward(self, x):
        mask = next(self.replay['masks'], None)
        assert mask is not None, 'the model runs more ReLUs than the checked run recorded masks for'
        assert mask.shape == x.shape, f'ReLU mask {list(mask.shape)} for an input {list(x.shape)}: the checked run took another path'
        return x * mask.to(x.dtype)


def replace_relus(module, masks):
    for name, child in module.named_children():
        if isinstance(child, nn.ReLU):
            setattr(module, name, MaskedReLU(masks))
        else:
            replace_relus(child, masks)


def build(arch, classes):
    net = getattr(torchvision.models, arch)(weights=None)
    body = nn.Sequential(*list(net.children())[:-2])
    head = fastai_head(net.fc.in_features, classes, ps=(0.0, 0.0))
    return net, body, head


def write_state(args):
    for i, arch in enumerate(args.archs.split(',')):
        torch.manual_seed(10 + i)
        gen = torch.Generator().manual_seed(200 + i)
        net, _, head = build(arch, args.classes)
        randomise_bn(net, gen)
        for block in net.modules():
            if isinstance(block, (torchvision.models.resnet.BasicBlock, torchvision.models.resnet.Bottleneck)):
                last = block.bn3 if isinstance(block, torchvision.models.resnet.Bottleneck) else block.bn2
                last.weight.data *= RESIDUAL_GAMMA_SCALE
        randomise_bn(head, gen)
        out = {f'body.{k}': v for k, v in net.state_dict().items() if not k.startswith('fc.')}
        out.update({f'head.{k}': v for k, v in head.state_dict().items()})
        out['input'] = torch.randn(args.batch, 3, args.size, args.size, generator=gen)
        out['labels'] = torch.arange(args.batch) % args.classes
        save_safetensors(os.path.join(args.out, f'{arch}-state.safetensors'), out)


def write_grads(args):
    saved = load_safetensors(os.path.join(args.out, f'{args.arch}-state.safetensors'))
    masks = load_safetensors(args.masks)
    net, body, head = build(args.arch, int(saved['head.8.bias'].shape[0]))
    missing, unexpected = net.load_state_dict({k[5:]: v for k, v in saved.items() if k.startswith('body.')}, strict=False)
    assert not unexpected and all(k.startswith('fc.') for k in missing), (missing, unexpected)
    head.load_state_dict({k[5:]: v for k, v in saved.items() if k.startswith('head.')})
    model = nn.Sequential(body, head)
    x, y = saved['input'], saved['labels']
    params = {f'body.{n}': p for n, p in net.named_parameters() if not n.startswith('fc.')}
    params.update({f'head.{n}': p for n, p in head.named_parameters()})
    replay = {}
    replace_relus(model, replay)
    runs = {}
    for dtype in (torch.float32, torch.float64):
        replay['masks'] = sequence = iter(masks[f'mask.{i}'] for i in range(len(masks)))
        model.to(dtype).train()
        for p in params.values():
            p.grad = None
        logits = model(x.to(dtype))
        loss = nn.functional.cross_entropy(logits, y)
        loss.backward()
        assert next(sequence, None) is None, 'the model ran fewer ReLUs than there are masks'
        runs[dtype] = (logits.detach().clone(), loss.detach().reshape(1).clone(), {n: p.grad.clone() for n, p in params.items()})
    (l32, _, g32), (logits, loss, grads) = runs[torch.float32], runs[torch.float64]
    rel = lambda a, b: ((a.double() - b).norm() / b.norm()).reshape(1)
    out = {f'grad.{n}': g for n, g in grads.items()}
    out.update({f'fp32err.{n}': rel(g32[n], g) for n, g in grads.items()})
    out.update({'logits': logits, 'loss': loss, 'fp32err.logits': rel(l32, logits)})
    save_safetensors(os.path.join(args.out, f'{args.arch}-grad.safetensors'), out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('step', choices=('state', 'grad'))
    ap.add_argument('out')
    ap.add_argument('--archs', default='resnet18,resnet34,resnet50')
    ap.add_argument('--arch')
    ap.add_argument('--masks')
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--classes', type=int, default=5)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    if args.step == 'state':
        write_state(args)
    else:
        write_grads(args)


if __name__ == '__main__':
    main()
