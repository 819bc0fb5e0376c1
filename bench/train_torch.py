# PyTorch side of bench/train.ts: torchvision resnet (random init, 37 classes) training steps with
# AdamW configured as fastai's (betas 0.9/0.99, eps 1e-5, wd 1e-2) on CPU; prints one RESULT line.
# usage: /usr/bin/python3 bench/train_torch.py ARCH SIZE BATCH STEPS WARMUP THREADS [fp32|bf16]
# bf16: the forward and loss under torch.autocast('cpu', dtype=torch.bfloat16), as PyTorch's CPU AMP does.
import contextlib
import json
import resource
import statistics
import sys
import time

import torch
import torchvision

arch, size, batch, steps, warmup, threads = sys.argv[1], *[int(a) for a in sys.argv[2:7]]
precision = sys.argv[7] if len(sys.argv) > 7 else 'fp32'
autocast = (lambda: torch.autocast('cpu', dtype=torch.bfloat16)) if precision == 'bf16' else contextlib.nullcontext
torch.set_num_threads(threads)
torch.manual_seed(0)
model = getattr(torchvision.models, arch)(weights=None, num_classes=37)
x = torch.randn(batch, 3, size, size)
y = torch.randint(0, 37, (batch,))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=1e-2)
loss_fn = torch.nn.CrossEntropyLoss()
model.train()
times = []
for i in range(warmup + steps):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    with autocast():
        loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    dt = time.perf_counter() - t0
    print(f'  torch {size}px step {i} {dt * 1000:.0f} ms loss {loss.item():.3f}', file=sys.stderr)
    if i >= warmup:
        times.append(dt)
print('RESULT ' + json.dumps(dict(
    torch=torch.__version__, torchvision=torchvision.__version__, threads=torch.get_num_threads(), size=size, batch=batch, precision=precision,
    trainStepMs=[round(t * 1000) for t in times], trainImgPerSec=round(batch / statistics.median(times), 2),
    peakRssMB=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))))
