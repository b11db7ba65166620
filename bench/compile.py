"""Does `torch.compile` (inductor, CPU) pay for its compile time within a few epochs?

    python bench/compile.py [--archs seed_cnn,efficientnet_lite0] [--image-size 224] [--batch-size 64]
                            [--steps 6] [--epoch-images 1120] [--epochs 3] [--threads N]

For each arch: a training step (forward, backward, AdamW step; fp32, channels-last, random batch: compute only)
timed eagerly and compiled. Reports the compile time (the first compiled steps, less an eager step each), the
steady-state images/s of both, and the number of epochs of `--epoch-images` images after which compiling has
paid for itself. Run it as an AVX2-only machine would by forcing the kernels' instruction set:

    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 python bench/compile.py

Each arch runs in a fresh subprocess (the compile caches are per process; `TORCHINDUCTOR_CACHE_DIR` points at a
fresh temporary folder, so nothing is reused from an earlier run: a user's first run).
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT = 'RESULT '
WARMUP_STEPS = 2  # compiled steps that may still compile (forward/backward graphs, the optimizer)


def timed_steps(step, n:int) -> list[float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return times

def child(a) -> dict:
    import torch
    from birdclf.model import create_model
    from birdclf.train import adamw
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = create_model(a.arch, 10).to(memory_format=torch.channels_last).train()
    opt, loss_func = adamw(model.parameters()), torch.nn.CrossEntropyLoss()
    x = torch.randn(a.batch_size, 3, a.image_size, a.image_size).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (a.batch_size,))
    def step(net):
        def run():
            loss_func(net(x), y).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        return run
    eager = timed_steps(step(model), a.steps + 1)[1:]
    compiled = torch.compile(model)
    t = time.perf_counter()
    first = timed_steps(step(compiled), WARMUP_STEPS)
    warm = time.perf_counter() - t
    steady = timed_steps(step(compiled), a.steps)
    eager_s, compiled_s = statistics.median(eager), statistics.median(steady)
    return dict(arch=a.arch, eager_ips=a.batch_size / eager_s, compiled_ips=a.batch_size / compiled_s,
                compile_s=warm - WARMUP_STEPS * compiled_s, first_steps=first)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--archs', default='seed_cnn,efficientnet_lite0')
    p.add_argument('--image-size', type=int, default=224)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--steps', type=int, default=6, help='timed steps, eager and compiled')
    p.add_argument('--epoch-images', type=int, default=1120, help='training images an epoch (break-even in epochs)')
    p.add_argument('--epochs', type=int, default=3, help='the run length compiling must pay within')
    p.add_argument('--threads', type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument('--arch', help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.arch:
        print(RESULT + json.dumps(child(a)), flush=True)
        return 0
    sys.path.insert(0, str(Path(__file__).parent))
    from speed import cpu_flags, flags_line
    import torch
    print(flags_line(cpu_flags()))
    print(f"torch {torch.__version__}; {a.threads} threads; fp32, channels-last, batch {a.batch_size}, "
          f"{a.image_size} px; an epoch = {a.epoch_images} images; load average {os.getloadavg()[0]:.2f}")
    for arch in a.archs.split(','):
        with tempfile.TemporaryDirectory(prefix='birdclf-inductor-') as cache:
            env = {**os.environ, 'TORCHINDUCTOR_CACHE_DIR': cache, 'PYTHONPATH': str(ROOT)}
            args = [sys.executable, __file__, '--arch', arch] + [x for k in ('image_size', 'batch_size', 'steps', 'threads')
                                                                  for x in (f"--{k.replace('_', '-')}", str(getattr(a, k)))]
            t = time.perf_counter()
            proc = subprocess.run(args, capture_output=True, text=True, env=env)
            lines = [l for l in proc.stdout.splitlines() if l.startswith(RESULT)]
            if proc.returncode or not lines:
                print(f"{arch}: failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(lines[-1][len(RESULT):])
        epoch_eager, epoch_compiled = a.epoch_images / r['eager_ips'], a.epoch_images / r['compiled_ips']
        saved = epoch_eager - epoch_compiled
        pays = f"after {r['compile_s'] / saved:.1f} epochs" if saved > 0 else 'never (compiled is not faster)'
        verdict = 'pays' if saved > 0 and r['compile_s'] <= a.epochs * saved else 'does NOT pay'
        print(f"{arch:<20} eager {r['eager_ips']:6.1f} img/s, compiled {r['compiled_ips']:6.1f} img/s "
              f"(x{r['compiled_ips'] / r['eager_ips']:.2f}); compile {r['compile_s']:.0f} s; "
              f"an epoch {epoch_eager:.0f} s -> {epoch_compiled:.0f} s; pays {pays}: {verdict} within {a.epochs} epochs "
              f"({time.perf_counter() - t:.0f} s)")
    return 0

if __name__ == '__main__': sys.exit(main())
