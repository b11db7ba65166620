"""Side-by-side speed benchmark: the seed notebook's loop (bench/seed_loop.py) against birdclf's `train`.

    python bench/speed.py DATA_DIR [--epochs 3] [--repeats 2] [--image-size 224] [--batch-size 64]
                                   [--threads N] [--variants plain,cache,cache+cl] [--max-batches K]

Both sides get the same data folder (train/ and val/; test/ for the inference check), model (seed_cnn),
image size, batch size, epochs, torch thread count and seed. Every run is a fresh subprocess (peak RSS is
the child's own `ru_maxrss`, its DataLoader workers included); the runs alternate — seed, then each birdclf
variant — and the whole round is repeated, so a busy machine slows both sides alike. birdclf runs with its
own defaults otherwise (AdamW + one-cycle, `--precision auto`, which is fp32 on a CPU without native bf16),
and writes its checkpoints each epoch as it always does: that is part of its whole-job time.

Variants: plain (cache off, channels_last off: the files read every epoch, as the seed did), cache (decoded-image cache), cl
(channels_last), joined with '+'. The decoded-image cache lives in a fresh temporary folder per benchmark,
so the first cached run pays for building it and later ones reuse it, as a user's second run would.
"""
import argparse, json, os, platform, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULT = 'RESULT '


# ---------------------------------------------------------------- children (each run in its own process)
def _peak_mb() -> float:
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024

def child_seed(a):
    sys.path.insert(0, str(HERE))
    import seed_loop
    r = seed_loop.run(a.data_dir, a.epochs, a.image_size, a.batch_size, a.threads, a.seed, verbose=False)
    r.pop('model')
    return r

CPU_FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile')

def cpu_flags() -> dict:
    "The CPU's model name and which of `CPU_FLAGS` it has (Linux: /proc/cpuinfo)."
    try: info = Path('/proc/cpuinfo').read_text()
    except OSError: return {'model': platform.processor() or '?', **{f: None for f in CPU_FLAGS}}
    model = next((l.split(':', 1)[1].strip() for l in info.splitlines() if l.startswith('model name')), '?')
    flags = set(next((l.split(':', 1)[1].split() for l in info.splitlines() if l.startswith('flags')), []))
    return {'model': model, **{f: f in flags for f in CPU_FLAGS}}

def flags_line(flags:dict) -> str:
    have = lambda f: '?' if flags[f] is None else ('yes' if flags[f] else 'no')
    forced_below = os.environ.get('ATEN_CPU_CAPABILITY', '').lower() in ('default', 'avx2')  # birdclf: fp32 then
    native = bool(flags.get('avx512_bf16') or flags.get('amx_bf16')) and not forced_below
    isa = {k: v for k, v in os.environ.items() if k in ('ONEDNN_MAX_CPU_ISA', 'ATEN_CPU_CAPABILITY')}
    return (f"CPU: {flags['model']}; " + ', '.join(f"{f} {have(f)}" for f in CPU_FLAGS)
            + f" -> bf16 {'native' if native else 'emulated (auto = fp32)'}" + (f"; forced: {isa}" if isa else ''))

class Stopwatch:
    "Seconds spent in named parts of a run: functions wrapped by `wrap`, callback hooks outside the batch loop."
    def __init__(self): self.seconds = {}
    def add(self, name, s): self.seconds[name] = self.seconds.get(name, 0.0) + s
    def wrap(self, module, attr, name):
        f = getattr(module, attr)
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try: return f(*args, **kwargs)
            finally: self.add(name, time.perf_counter() - t)
        setattr(module, attr, timed)

EPOCH_EVENTS = ('before_fit', 'before_epoch', 'after_epoch', 'after_fit')

def timed_callbacks(learner_cls, watch:Stopwatch):
    "Time every callback hook of `EPOCH_EVENTS` (the per-batch ones are inside the loop's own time), by class."
    plain = learner_cls.callback
    def callback(self, event):
        if event not in EPOCH_EVENTS: return plain(self, event)
        for cb in self.cbs:
            method = getattr(cb, event, None)
            if not method: continue
            t = time.perf_counter()
            method(self)
            watch.add(type(cb).__name__, time.perf_counter() - t)
    learner_cls.callback = callback

def child_birdclf(a):
    import atexit, gc
    atexit.register(gc.freeze)  # as `birdclf train` does from the shell (birdclf.cli.main): a quick exit
    t_import = time.perf_counter()
    import torch
    import birdclf.train as bt
    from birdclf.train import Callback, train
    watch = Stopwatch()
    watch.add('import torch + birdclf', time.perf_counter() - t_import)
    watch.wrap(bt, '_data', 'data: scan + cache')
    watch.wrap(bt, '_model', 'model')
    timed_callbacks(bt.Learner, watch)
    torch.set_num_threads(a.threads)
    out = dict(train_images=0, train_seconds=0.0, val_images=0, val_seconds=0.0)
    class Start(Callback):
        order = -1000
        def before_split(self, learn): self.t = time.perf_counter()
    start = Start()
    class Stop(Callback):  # after MetricsCB's per-epoch metrics: the split's whole cost
        order = 1000
        def after_batch(self, learn): out[f'{learn.split}_images'] += len(learn.yb)
        def after_split(self, learn): out[f'{learn.split}_seconds'] += time.perf_counter() - start.t
    t0 = time.perf_counter()
    learn = train(a.data_dir, out=a.out, progress=False, overwrite=True, cbs=[start, Stop()], arch='seed_cnn',
                  epochs=a.epochs, batch_size=a.batch_size, image_size=a.image_size, seed=a.seed,
                  cache='cache' in a.variant.split('+'), channels_last='cl' in a.variant.split('+'))
    out.update(val_accuracy=learn.history[-1]['val_accuracy'], val_log_loss=learn.history[-1]['val_loss'],
               run_seconds=time.perf_counter() - t0, parts=watch.seconds, t_exit=time.perf_counter() - t_import,
               precision=json.loads((Path(a.out)/'config.json').read_text())['resolved']['precision'])
    return out

def child_ceiling(a):
    "FLOPs per training image, and a compute-only training step (random batch, no data, no metrics)."
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from birdclf.model import seed_cnn
    from birdclf.train import adamw
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    model, loss_func = seed_cnn(10), torch.nn.CrossEntropyLoss()
    x, y = torch.randn(2, 3, a.image_size, a.image_size), torch.tensor([0, 1])
    with FlopCounterMode(display=False) as fc: loss_func(model(x), y).backward()
    out = {'flops_per_image': fc.get_total_flops() / 2}
    for name, cl in (('fp32', False), ('fp32_channels_last', True)):
        model = seed_cnn(10).to(memory_format=torch.channels_last if cl else torch.contiguous_format)
        opt = adamw(model.parameters())
        x = torch.randn(a.batch_size, 3, a.image_size, a.image_size); y = torch.randint(0, 10, (a.batch_size,))
        if cl: x = x.contiguous(memory_format=torch.channels_last)
        times = []
        for _ in range(a.ceiling_steps + 1):
            t = time.perf_counter()
            loss_func(model(x), y).backward(); opt.step(); opt.zero_grad(set_to_none=True)
            times.append(time.perf_counter() - t)
        out[name] = a.batch_size / statistics.median(times[1:])
    return out

def child_eval(a):
    "Inference on the test split: a plain fp32 loop (ImageFolder, no_grad, softmax per batch) vs birdclf's."
    import torch
    from torch.utils.data import DataLoader
    from torchvision import datasets
    from birdclf.data import seed_transforms
    import numpy as np
    from birdclf.infer import FLOAT32_CPU_LAYERS, evaluate, load_model, predict_probs, split_items
    from birdclf.train import precision_name, resolve_precision
    torch.set_num_threads(a.threads)
    split = Path(a.data_dir)/('test' if (Path(a.data_dir)/'test').is_dir() else 'val')
    model = load_model(a.ckpt, 'cpu')
    seed_model = load_model(a.ckpt, 'cpu')  # its own copy: predict turns `model` channels-last, as the seed never did
    meta = model.meta
    items = split_items(split, list(meta['classes']))
    def plain():
        ds = datasets.ImageFolder(str(split), transform=seed_transforms(meta['image_size'], meta['mean'], meta['std']))
        seed_model.eval(); n = 0
        with torch.no_grad():
            for xb, yb in DataLoader(ds, batch_size=a.batch_size):
                torch.softmax(seed_model(xb), dim=1).cpu().numpy(); n += len(yb)
        assert all(p.is_contiguous() for p in seed_model.parameters()), 'the plain loop ran channels-last'
        return n
    files = [p for p, _ in items]
    def ours(): return len(predict_probs(model, files, batch_size=a.batch_size)[0])
    def ours32(): return len(predict_probs(model, files, batch_size=a.batch_size, precision='32')[0])
    def ours32_stock():  # precision 32 with PyTorch's own kernels: no FLOAT32_CPU_LAYERS swapped in
        kept = dict(FLOAT32_CPU_LAYERS)
        FLOAT32_CPU_LAYERS.clear()
        try: return ours32()
        finally: FLOAT32_CPU_LAYERS.update(kept)
    def whole(): return len(evaluate(a.ckpt, a.data_dir, split.name, batch_size=a.batch_size, device='cpu').labels)
    out = {'split': split.name, 'precision': precision_name(resolve_precision('auto', torch.device('cpu'))),
           'float32_layers': ', '.join(f'{k.__name__} -> {v.__name__}' for k, v in FLOAT32_CPU_LAYERS.items()) or 'none'}
    probs = {'32': predict_probs(model, files, precision='32')[0], 'auto': predict_probs(model, files)[0]}
    labels = np.array([label for _, label in items])
    out['accuracy'] = {k: float((p.argmax(1) == labels).mean()) for k, p in probs.items()}
    out['max_prob_diff'] = float(np.abs(probs['32'] - probs['auto']).max())
    out['top1_changed'] = int((probs['32'].argmax(1) != probs['auto'].argmax(1)).sum())
    for rep in range(a.repeats):
        for name, f in (('plain', plain), ('predict32_stock', ours32_stock), ('predict32', ours32), ('predict', ours),
                        ('evaluate', whole)):
            t = time.perf_counter(); n = f(); s = time.perf_counter() - t
            out[name] = max(out.get(name, 0), n / s)  # best of the repeats: the least disturbed
    return out

CHILDREN = {'seed': child_seed, 'birdclf': child_birdclf, 'ceiling': child_ceiling, 'eval': child_eval}


# ---------------------------------------------------------------- parent
def spawn(kind, a, **extra) -> dict:
    "Run child `kind` in a fresh Python process; its result dict with the process's wall time and peak RSS."
    args = [sys.executable, __file__, a.data_dir, '--child', kind, '--epochs', str(a.epochs), '--image-size', str(a.image_size),
            '--batch-size', str(a.batch_size), '--threads', str(a.threads), '--repeats', str(a.repeats),
            '--ceiling-steps', str(a.ceiling_steps)] + [x for k, v in extra.items() for x in (f'--{k}', str(v))]
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get('PYTHONPATH')] if p])}
    t = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    lines = [l for l in p.stdout.splitlines() if l.startswith(RESULT)]
    if p.returncode or not lines:
        sys.exit(f"benchmark child '{kind}' failed (exit {p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return {**json.loads(lines[-1][len(RESULT):]), 'job_seconds': wall}

def subset(data_dir:Path, dest:Path, n:int) -> Path:
    "A folder of symlinks to about `n` images per split, taken round-robin over the classes (for smoke runs)."
    for split in ('train', 'val', 'test'):
        if not (data_dir/split).is_dir(): continue
        classes = {c: sorted(f for f in c.iterdir() if f.is_file()) for c in sorted((data_dir/split).iterdir()) if c.is_dir()}
        picked = [fs[i] for i in range(n) for fs in classes.values() if i < len(fs)][:n]
        for f in picked:
            (dest/split/f.parent.name).mkdir(parents=True, exist_ok=True)
            (dest/split/f.parent.name/f.name).symlink_to(f.resolve())
    return dest

def upscale(data_dir:Path, dest:Path, side:int) -> Path:
    "Copies of every image enlarged to `side`x`side` JPEGs (quality 90): photos at camera-like sizes, where decoding costs."
    from PIL import Image
    for f in sorted(data_dir.glob('*/*/*')):
        if f.suffix.lower() not in ('.jpg', '.jpeg', '.png') or f.parent.parent.name not in ('train', 'val', 'test'): continue
        out = dest/f.relative_to(data_dir).with_suffix('.jpg'); out.parent.mkdir(parents=True, exist_ok=True)
        Image.open(f).convert('RGB').resize((side, side), Image.BICUBIC).save(out, quality=90)
    return dest

def med(rows, key): return statistics.median(r[key] for r in rows)

def fmt_row(name, rows, flops=None, ceiling=None):
    tr, va = med(rows, 'train_images') / med(rows, 'train_seconds'), med(rows, 'val_images') / med(rows, 'val_seconds')
    gf = f"{tr * flops / 1e9:7.1f}" if flops else '      -'
    pct = f"{100 * tr / ceiling:5.0f}%" if ceiling else '     -'
    accs = '/'.join(f"{r['val_accuracy']:.2f}" for r in rows)
    return (f"{name:<18}{tr:9.1f}{va:9.1f}{med(rows, 'job_seconds'):9.1f}{med(rows, 'peak_rss_mb'):9.0f}  {gf}  {pct}   {accs}", tr, va)

def load_avg() -> str:
    try: return ' '.join(f'{x:.2f}' for x in os.getloadavg())
    except OSError: return '?'

def report(a, data_dir, runs, ceiling, ev, started):
    n_train = runs['seed'][0]['train_images'] // a.epochs
    print(f"\nbirdclf speed benchmark: {data_dir}{f' enlarged to {a.upscale} px JPEGs' if a.upscale else ''}  ({n_train} training images/epoch), {a.image_size} px, batch {a.batch_size}, "
          f"{a.epochs} epoch(s) x {a.repeats} repeat(s), {a.threads} torch threads, {os.cpu_count()} CPUs")
    import torch
    print(flags_line(cpu_flags()))
    print(f"torch {torch.__version__}; load average before {started}, after {load_avg()}; elapsed {time.perf_counter() - a.t0:.0f} s")
    flops = ceiling.get('flops_per_image') if ceiling else None
    if ceiling:
        print(f"FLOPs per training image (forward + backward, torch.utils.flop_counter): {flops / 1e9:.2f} GFLOP")
        print(f"compute-only training step (random batch, no data/metrics): fp32 {ceiling['fp32']:.1f} img/s "
              f"({ceiling['fp32'] * flops / 1e9:.0f} GFLOP/s), fp32+channels_last {ceiling['fp32_channels_last']:.1f} img/s "
              f"({ceiling['fp32_channels_last'] * flops / 1e9:.0f} GFLOP/s)")
    best_ceiling = max(ceiling['fp32'], ceiling['fp32_channels_last']) if ceiling else None
    print(f"\n{'run (median)':<18}{'train/s':>9}{'val/s':>9}{'job s':>9}{'RSS MB':>9}  {'GFLOP/s':>7}  {'%ceil':>6}   val acc per repeat")
    seed_line, s_tr, s_va = fmt_row('seed loop', runs['seed'], flops, best_ceiling)
    print(seed_line)
    for v in a.variants:
        line, tr, va = fmt_row(f'birdclf {v}', runs[v], flops, best_ceiling)
        print(line)
    print("\nratios birdclf/seed (train img/s, val img/s, whole-job wall time seed/birdclf, peak RSS birdclf/seed):")
    for v in a.variants:
        _, tr, va = fmt_row(v, runs[v])
        print(f"  {v:<16} train x{tr / s_tr:.2f}   val x{va / s_va:.2f}   wall x{med(runs['seed'], 'job_seconds') / med(runs[v], 'job_seconds'):.2f}"
              f"   RSS x{med(runs[v], 'peak_rss_mb') / med(runs['seed'], 'peak_rss_mb'):.2f}")
    print("\nper run (repeat: job s / train s / val s):")
    for k in ['seed'] + a.variants:
        print(f"  {k:<16} " + '  '.join(f"{i+1}: {r['job_seconds']:.1f}/{r['train_seconds']:.1f}/{r['val_seconds']:.1f}" for i, r in enumerate(runs[k])))
    breakdown(a, runs)
    if ev: report_inference(a, ev)

def breakdown(a, runs):
    "Where each variant's whole job goes (median seconds over the repeats)."
    parts = sorted({k for v in a.variants for r in runs[v] for k in r['parts']},
                   key=lambda k: -statistics.median(r['parts'].get(k, 0) for v in a.variants for r in runs[v]))
    rows = [('training loop', 'train_seconds'), ('validation loop (with metrics)', 'val_seconds')]
    print(f"\nwhole job, where the time goes (median s; precision: "
          + ', '.join(f"{v} {runs[v][0]['precision']}" for v in a.variants) + ")")
    print(f"  {'part':<32}" + ''.join(f"{v:>12}" for v in a.variants))
    for label, key in rows: print(f"  {label:<32}" + ''.join(f"{med(runs[v], key):12.1f}" for v in a.variants))
    for k in parts:
        print(f"  {k:<32}" + ''.join(f"{statistics.median(r['parts'].get(k, 0) for r in runs[v]):12.2f}" for v in a.variants))
    def rest(r): return r['job_seconds'] - r['train_seconds'] - r['val_seconds'] - sum(r['parts'].values())
    print(f"  {'python start/exit, other':<32}" + ''.join(f"{statistics.median(rest(r) for r in runs[v]):12.1f}" for v in a.variants))
    print(f"  {'whole job':<32}" + ''.join(f"{med(runs[v], 'job_seconds'):12.1f}" for v in a.variants))

def report_inference(a, ev):
    print(f"\ninference on {ev['split']}/ (best of {a.repeats}; birdclf precision auto = {ev['precision']} here):")
    print(f"  plain fp32 loop (ImageFolder, NCHW)          {ev['plain']:7.1f} img/s")
    print(f"  float32 layers swapped in on this CPU: {ev['float32_layers']}")
    for name, label in (('predict32_stock', 'birdclf predict_probs, precision 32, stock'),
                        ('predict32', 'birdclf predict_probs, precision 32'), ('predict', 'birdclf predict_probs, auto'),
                        ('evaluate', 'birdclf evaluate(), auto, incl. load+metrics')):
        print(f"  {label:<45}{ev[name]:7.1f} img/s  x{ev[name] / ev['plain']:.2f}")
    acc = ev['accuracy']
    print(f"  accuracy fp32 {acc['32']:.3f}, auto {acc['auto']:.3f}; top-1 changed on {ev['top1_changed']} image(s); "
          f"largest probability difference {ev['max_prob_diff']:.4f}")

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_dir')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--repeats', type=int, default=2)
    p.add_argument('--image-size', type=int, default=224)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--threads', type=int, default=len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count())
    p.add_argument('--variants', default='plain,cache,cache+cl', help="birdclf variants: plain, cache, cl, joined with '+'")
    p.add_argument('--max-batches', type=int, default=None, help='smoke run: about this many batches per split')
    p.add_argument('--ceiling-steps', type=int, default=3, help='timed compute-only steps per layout (0: skip)')
    p.add_argument('--no-eval', action='store_true', help='skip the inference comparison')
    p.add_argument('--upscale', type=int, default=None, help='benchmark on copies of the images enlarged to this square size')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--child', choices=list(CHILDREN), help=argparse.SUPPRESS)
    p.add_argument('--variant', default='plain', help=argparse.SUPPRESS)
    p.add_argument('--out', help=argparse.SUPPRESS)
    p.add_argument('--ckpt', help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        print(RESULT + json.dumps({**CHILDREN[a.child](a), 'peak_rss_mb': _peak_mb()}), flush=True); return 0
    data_dir = Path(a.data_dir)
    if not (data_dir/'train').is_dir() or not (data_dir/'val').is_dir():
        print(f"skipped: {data_dir} is not a data folder with train/ and val/ (e.g. ../shared/data/birds10)", file=sys.stderr); return 0
    a.variants, a.t0, started = a.variants.split(','), time.perf_counter(), load_avg()
    with tempfile.TemporaryDirectory(prefix='birdclf-bench-') as tmp:
        tmp = Path(tmp)
        os.environ['BIRDCLF_CACHE'] = str(tmp/'cache')
        if a.max_batches: a.data_dir = str(subset(data_dir, tmp/'data', a.max_batches * a.batch_size))
        if a.upscale:
            a.data_dir = str(upscale(Path(a.data_dir), tmp/'big', a.upscale))
            print(f"images enlarged to {a.upscale}x{a.upscale} JPEGs in {a.data_dir}", flush=True)
        runs = {k: [] for k in ['seed'] + a.variants}
        for rep in range(a.repeats):
            seed = a.seed + rep
            runs['seed'].append(spawn('seed', a, seed=seed))
            print(f"repeat {rep+1}: seed {runs['seed'][-1]['job_seconds']:.0f} s", end='', flush=True)
            for v in a.variants:
                runs[v].append(spawn('birdclf', a, seed=seed, variant=v, out=tmp/f'run_{v}'))
                print(f", {v} {runs[v][-1]['job_seconds']:.0f} s", end='', flush=True)
            print(flush=True)
        ceiling = spawn('ceiling', a) if a.ceiling_steps else None
        ev = None if a.no_eval else spawn('eval', a, ckpt=tmp/f'run_{a.variants[-1]}')
        report(a, data_dir, runs, ceiling, ev, started)
    return 0

if __name__ == '__main__': sys.exit(main())
