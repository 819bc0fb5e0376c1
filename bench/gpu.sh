#!/usr/bin/env bash
# GPU device check (one call, under 8 minutes): what the machine has (driver, GPU, a CUDA libtorch
# or a Python torch with CUDA), a build of the addon against that libtorch, then resnet34/50 at
# 224 px training img/s in fp32, fp16 and bf16: PyTorch on the same GPU beside the torch backend.
# Without an NVIDIA GPU it says so and exits 0 having changed nothing.
# usage: bash bench/gpu.sh   (LIBTORCH=/path/to/libtorch-cuda to build against that one)
set -u
cd "$(dirname "$0")/.."
say() { printf '%s\n' "$*"; }

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  say "gpu.sh: no NVIDIA GPU here (nvidia-smi is missing or sees no device); nothing to measure."
  say "  Run it on a machine with an NVIDIA GPU and its driver; it builds against a CUDA libtorch (LIBTORCH=...) or a Python torch with CUDA."
  exit 0
fi
say "== driver and GPU"
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader

PY=""
for p in /usr/bin/python3 python3; do
  if "$p" -c 'import torch' >/dev/null 2>&1; then PY="$p"; break; fi
done
say "== Python torch"
if [ -n "$PY" ]; then
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
else
  say "none (no python with torch)"
fi
say "== CUDA libtorch"
CUDA_LIBTORCH=""
if [ -n "${LIBTORCH:-}" ] && ls "$LIBTORCH"/lib/libtorch_cuda.so >/dev/null 2>&1; then CUDA_LIBTORCH="$LIBTORCH"
elif [ -n "$PY" ]; then
  d=$("$PY" -c 'import torch, os; print(os.path.dirname(torch.__file__))' 2>/dev/null)
  if [ -n "$d" ] && ls "$d"/lib/libtorch_cuda.so >/dev/null 2>&1; then CUDA_LIBTORCH="$d"; fi
fi
say "${CUDA_LIBTORCH:-none found (LIBTORCH unset or without libtorch_cuda.so, and no CUDA Python torch)}"

if [ -n "$CUDA_LIBTORCH" ]; then
  [ -f out/bench/train.js ] || timeout 240 npx tsc -p . >/dev/null 2>&1
  say "== building the addon against $CUDA_LIBTORCH"
  if ! LIBTORCH="$CUDA_LIBTORCH" timeout 300 node native/install.js >/tmp/gpu-build.log 2>&1; then
    say "build failed: tail of /tmp/gpu-build.log"; tail -20 /tmp/gpu-build.log
  fi
  timeout 60 node out/src/trainer/cli/main.js doctor 2>&1 | head -8 || say "(doctor needs tsc -p . first)"
fi

say "== PyTorch training img/s on the GPU (batch 32, 224 px)"
if [ -n "$PY" ] && "$PY" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  timeout 240 "$PY" - <<'PYEOF'
import time, torch, torchvision
dev = 'cuda'
for arch in ('resnet34', 'resnet50'):
    for dt in ('fp32', 'fp16', 'bf16'):
        if dt == 'bf16' and not torch.cuda.is_bf16_supported():
            print(f'{arch} {dt}: not supported on this GPU'); continue
        m = getattr(torchvision.models, arch)(num_classes=37).to(dev).to(memory_format=torch.channels_last)
        opt = torch.optim.AdamW(m.parameters(), 1e-3)
        scaler = torch.cuda.amp.GradScaler(enabled=dt == 'fp16')
        x = torch.randn(32, 3, 224, 224, device=dev).to(memory_format=torch.channels_last)
        y = torch.randint(0, 37, (32,), device=dev)
        cast = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}[dt]
        def step():
            with torch.autocast('cuda', dtype=cast or torch.float32, enabled=cast is not None):
                loss = torch.nn.functional.cross_entropy(m(x), y)
            opt.zero_grad(); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
        for _ in range(3): step()
        torch.cuda.synchronize(); t = time.time(); n = 10
        for _ in range(n): step()
        torch.cuda.synchronize()
        print(f'{arch} {dt}: PyTorch {32 * n / (time.time() - t):.1f} img/s')
PYEOF
else
  say "PyTorch has no CUDA here: no PyTorch GPU figures."
fi
say "== torch backend (this project) on the GPU"
if [ -n "$CUDA_LIBTORCH" ]; then
  for s in 224; do timeout 120 node out/bench/train.js --row torch "$s" --bs 32 --warmup 2 --steps 5 --arch resnet34 2>&1 | grep RESULT; done
  say "(fp16/bf16 rows: mixed precision is not built in the addon yet; fp32 only)"
else
  say "not built against a CUDA libtorch: no figures."
fi
