"""The GPU check of issue 11, for a machine with a CUDA GPU. From the repository root:

    python bench/gpu_check.py ../shared/data/birds10 [--epochs 2] [--batch-size 64]

For efficientnet_lite0 (pretrained where the offline weights are installed) and the seed CNN, a
one-process CUDA run of `birdclf.train.train`: the precision `--precision auto` chose, training
images/s of the last epoch, peak GPU memory, and the images/s of a compute-only training step (the same
model, batch and precision on a batch already on the GPU) — the ratio says whether the loader keeps the
GPU busy. Then a torchrun launch with world size 1 on NCCL. Prints figures; asserts only that each
part ran.
"""
import argparse, json, subprocess, sys, tempfile, time
from pathlib import Path

import torch
from torch import nn

from birdclf.model import arch_config, create_model, pretrained_archs
from birdclf.train import Callback, precision_name, resolve_precision, train

WARMUP, STEPS = 5, 20


class SplitTimer(Callback):
    "Seconds of each epoch's training split, measured with the GPU synchronised."
    order = 50
    def before_fit(self, learn): self.seconds, self.images = [], []
    def before_split(self, learn):
        if learn.training: torch.cuda.synchronize(); self.start, self.seen = time.perf_counter(), 0
    def after_batch(self, learn):
        if learn.training: self.seen += len(learn.yb)
    def after_split(self, learn):
        if learn.training:
            torch.cuda.synchronize()
            self.seconds.append(time.perf_counter() - self.start); self.images.append(self.seen)


def compute_only(arch: str, n_classes: int, batch: int, size: int, dtype) -> float:
    "Images/s of forward + backward + AdamW step on a random batch that is already on the GPU."
    model = create_model(arch, n_classes).cuda().to(memory_format=torch.channels_last).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler('cuda', enabled=dtype == torch.float16)
    x = torch.randn(batch, 3, size, size, device='cuda').contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, n_classes, (batch,), device='cuda')
    def step():
        with torch.autocast('cuda', dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = nn.functional.cross_entropy(model(x), y)
        scaler.scale(loss).backward(); scaler.step(opt); scaler.update(); opt.zero_grad(set_to_none=True)
    for _ in range(WARMUP): step()
    torch.cuda.synchronize(); t0 = time.perf_counter()
    for _ in range(STEPS): step()
    torch.cuda.synchronize()
    return STEPS * batch / (time.perf_counter() - t0)


def one_process(data: str, arch: str, epochs: int, batch: int, out: Path) -> dict:
    torch.backends.cudnn.benchmark = True
    torch.cuda.reset_peak_memory_stats()
    timer = SplitTimer()
    pretrained = arch in pretrained_archs()
    learn = train(data, out=out, progress='none', cbs=[timer], arch=arch, epochs=epochs, batch_size=batch,
                  device='cuda', seed=0, pretrained=pretrained, overwrite=True)
    dtype = resolve_precision('auto', torch.device('cuda'))
    size = arch_config(arch)['image_size']
    loader_rate = timer.images[-1] / timer.seconds[-1]
    ceiling = compute_only(arch, learn.dls.num_classes, batch, size, dtype)
    return dict(arch=arch, pretrained=pretrained, precision=precision_name(dtype),
                gpu=torch.cuda.get_device_name(), capability=torch.cuda.get_device_capability(),
                train_images_per_s=round(loader_rate, 1), compute_only_images_per_s=round(ceiling, 1),
                loader_keeps_up=round(loader_rate / ceiling, 2),
                peak_gpu_memory_mb=round(torch.cuda.max_memory_allocated() / 2**20),
                val_accuracy=round(learn.history[-1]['val_accuracy'], 3))


def torchrun_world_one(data: str, out: Path) -> dict:
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '1', '-m', 'birdclf',
           'train', data, '--device', 'cuda', '--epochs', '1', '--arch', 'seed_cnn', '--out', str(out), '--overwrite',
           '--progress', 'log']
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    resolved = json.loads((out/'config.json').read_text())['resolved'] if (out/'config.json').exists() else None
    return dict(status=proc.returncode, seconds=round(time.perf_counter() - t0, 1), resolved=resolved,
                tail=(proc.stdout + proc.stderr).strip().splitlines()[-3:])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_dir'); p.add_argument('--epochs', type=int, default=2); p.add_argument('--batch-size', type=int, default=64)
    args = p.parse_args()
    if not torch.cuda.is_available(): sys.exit('gpu_check: no CUDA GPU here')
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s): {torch.cuda.get_device_name()}")
    work = Path(tempfile.mkdtemp(prefix='gpu_check-'))
    for arch in ('efficientnet_lite0', 'seed_cnn'):
        print(json.dumps(one_process(args.data_dir, arch, args.epochs, args.batch_size, work/arch)), flush=True)
    report = torchrun_world_one(args.data_dir, work/'torchrun1')
    print(json.dumps(report), flush=True)
    assert report['status'] == 0 and report['resolved']['processes'] == 1, report


if __name__ == '__main__': main()
