#!/usr/bin/python3
"""Reference outputs for the model parity test (test/unit/models-parity.test.ts).

For each architecture: a randomly initialised torchvision resnet with randomised BatchNorm
statistics (so that eval-mode BN matters), saved as a torchvision-format .safetensors file, plus a
fastai head (create_head: concat pool, BN, dropout, linear 512, ReLU, BN, dropout, linear c) with
random weights and BN stats, and a fixed input run through both in eval mode.

usage: /usr/bin/python3 torch_reference.py OUT_DIR [--archs resnet18,resnet34,resnet50] [--size 64] [--classes 5]
Writes OUT_DIR/<arch>.safetensors (torchvision state_dict), OUT_DIR/<arch>-head.safetensors
(names head.2.weight … as nn.Sequential indices) and OUT_DIR/<arch>-io.safetensors (input NCHW,
features NCHW = body output, logits = torchvision fc logits, head_logits = fastai head on features).
python3-safetensors is not in Debian, so the format (8-byte little-endian header length, JSON
header, raw little-endian data) is written here directly.
"""
import argparse
import json
import os
import struct

import torch
import torch.nn as nn
import torchvision

DTYPES = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64', torch.float64: 'F64'}


def save_safetensors(path, tensors, dtype=None):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        if t.dtype == torch.bfloat16:  # numpy has no bfloat16: take the raw 16-bit patterns
            data = t.view(torch.int16).numpy().tobytes()
        else:
            data = t.numpy().tobytes()
        header[name] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header['__metadata__'] = {'format': 'pt'}
    raw = json.dumps(header, separators=(',', ':')).encode('utf-8')
    raw += b' ' * (-len(raw) % 8)  # align the data section, as the reference writer does
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(raw)))
        f.write(raw)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def load_safetensors(path):
    """The tensors of a .safetensors file (the dtypes of DTYPES), by name."""
    with open(path, 'rb') as f:
        size = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    by_code = {code: dtype for dtype, code in DTYPES.items()}
    by_code['I32'] = torch.int32
    out = {}
    for name, entry in header.items():
        if name == '__metadata__':
            continue
        start, end = entry['data_offsets']
        raw = bytearray(data[start:end])
        out[name] = torch.frombuffer(raw, dtype=by_code[entry['dtype']]).reshape(entry['shape']) if raw else torch.zeros(entry['shape'], dtype=by_code[entry['dtype']])
    return out


class AdaptiveConcatPool2d(nn.Module):
    def forward(self, x):
        return torch.cat([nn.functional.adaptive_max_pool2d(x, 1), nn.functional.adaptive_avg_pool2d(x, 1)], 1)


def fastai_head(nf, classes, ps=(0.25, 0.5)):
    return nn.Sequential(
        AdaptiveConcatPool2d(), nn.Flatten(),
        nn.BatchNorm1d(2 * nf), nn.Dropout(ps[0]), nn.Linear(2 * nf, 512), nn.ReLU(inplace=True),
        nn.BatchNorm1d(512), nn.Dropout(ps[1]), nn.Linear(512, classes))


def randomise_bn(module, gen):
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = m.num_features
            m.weight.data = 0.5 + torch.rand(n, generator=gen)
            m.bias.data = 0.1 * torch.randn(n, generator=gen)
            m.running_mean.data = 0.1 * torch.randn(n, generator=gen)
            m.running_var.data = 0.5 + torch.rand(n, generator=gen)
            m.num_batches_tracked.data = torch.tensor(7, dtype=torch.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--archs', default='resnet18,resnet34,resnet50')
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--batch', type=int, default=2)
    ap.add_argument('--classes', type=int, default=5)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    for i, arch in enumerate(args.archs.split(',')):
        torch.manual_seed(args.seed + i)
        gen = torch.Generator().manual_seed(args.seed + 100 + i)
        net = getattr(torchvision.models, arch)(weights=None)
        randomise_bn(net, gen)
        nf = net.fc.in_features
        head = fastai_head(nf, args.classes)
        nn.init.kaiming_normal_(head[4].weight)
        nn.init.kaiming_normal_(head[8].weight)
        head[4].bias.data = 0.1 * torch.randn(512, generator=gen)
        head[8].bias.data = 0.1 * torch.randn(args.classes, generator=gen)
        randomise_bn(head, gen)
        net.eval()
        head.eval()
        x = torch.randn(args.batch, 3, args.size, args.size, generator=gen)
        body = nn.Sequential(*list(net.children())[:-2])  # fastai cut=-2: drop avgpool and fc
        with torch.no_grad():
            features = body(x)
            logits = net(x)
            head_logits = head(features)
        save_safetensors(os.path.join(args.out, f'{arch}.safetensors'), net.state_dict())
        save_safetensors(os.path.join(args.out, f'{arch}-head.safetensors'), {f'head.{k}': v for k, v in head.state_dict().items()})
        save_safetensors(os.path.join(args.out, f'{arch}-io.safetensors'),
                         {'input': x, 'features': features, 'logits': logits, 'head_logits': head_logits})
        print(json.dumps({'arch': arch, 'features': list(features.shape), 'logits': list(logits.shape)}))


if __name__ == '__main__':
    main()
