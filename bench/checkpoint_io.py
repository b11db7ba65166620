"""What checkpoints cost a run: the seed CNN's snapshot and writes, and the time `CheckpointCB` holds training.

    python bench/checkpoint_io.py [--out DIR] [--classes 25] [--repeats 3] [--threads N]
    python bench/checkpoint_io.py --data DATA_DIR [--out DIR] [--epochs 2] [--batch-size 64] [--background off,on]
                                  [--repeats 1]

Without `--data`: the seed CNN (224 px, `--classes`) after one AdamW step (so that Adam's moments exist):
the seconds to copy its state (weights and optimiser) to fresh CPU memory and into buffers kept from a
previous copy (best of `--repeats`); to write it as `last.pt` (full state) and `best.pt` (weights) into
`--out` (the run folder's disk), each into a new file beside the old one, then renamed over it, as
`write_checkpoint` does — with `torch.save` to the path (through the page cache) and with birdclf's
`save_direct` (O_DIRECT), every repeat listed, alternating; and to hard-link one to the other. Then training steps per second
alone and while another thread writes `last.pt` over and over (what a background writer costs the steps
it overlaps, at worst).

With `--data`: real `birdclf.train.train` runs (seed_cnn, 224 px), each in a fresh process, one per
`--background` value (`off`: `CheckpointCB(background=False)`; a birdclf without the option runs `off`
as it always wrote), the round repeated `--repeats` times. Each prints the seconds `CheckpointCB` held
the loop after every epoch and at the end of the run, the epochs' seconds, the run's seconds, the bytes
the process wrote (Linux), and its peak RSS.
"""
import argparse, json, os, subprocess, sys, tempfile, threading, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MB = 1e6
RESULT = 'RESULT '
TIMED_EVENTS = ('after_epoch', 'after_fit', 'cleanup_fit')


# ---------------------------------------------------------------- the seed CNN's state, copied and written
def _best(f, repeats:int) -> float:
    "The shortest of `repeats` timings of `f()` (the least disturbed on a shared machine)."
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)

def _steps_per_s(model, opt, x, y, steps:int) -> float:
    import torch
    loss_func = torch.nn.CrossEntropyLoss()
    t = time.perf_counter()
    for _ in range(steps):
        loss_func(model(x), y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return steps / (time.perf_counter() - t)

def _save_fresh(obj, path:Path, save=None):
    "`save` (default `torch.save`) into a new file beside `path`, then renamed over it, as `write_checkpoint` does."
    import torch
    tmp = path.with_name(f'.{path.name}.tmp')
    (save or torch.save)(obj, tmp)
    os.replace(tmp, path)

def _each(f, repeats:int) -> list:
    "Every one of `repeats` timings of `f()`, in seconds."
    return [round(_best(f, 1), 3) for _ in range(repeats)]

def _beside_a_writer(model, opt, x, y, a, snapshot, out:Path) -> float:
    "Training steps per second while another thread saves `snapshot` again and again."
    stop = threading.Event()
    def writer():
        while not stop.is_set(): _save_fresh(snapshot, out/'last.pt')
    thread = threading.Thread(target=writer)
    thread.start()
    try: return _steps_per_s(model, opt, x, y, a.steps)
    finally:
        stop.set()
        thread.join()

def io_costs(a) -> dict:
    "Copy and write times of the seed CNN's checkpoints, and a background write's toll on training steps."
    import torch
    from birdclf.model import seed_cnn
    from birdclf.train import adamw, cpu_copy, save_direct, tensor_bytes
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = seed_cnn(a.classes)
    opt = adamw(model.parameters())
    x, y = torch.randn(a.batch_size, 3, 224, 224), torch.randint(0, a.classes, (a.batch_size,))
    _steps_per_s(model, opt, x, y, 1)
    live = lambda: {'model': model.state_dict(), 'optimizer': opt.state_dict()}
    buffers, out = {}, Path(a.out)
    snapshot = cpu_copy(live(), buffers)
    r = {'parameters': sum(p.numel() for p in model.parameters()), 'snapshot_mb': tensor_bytes(snapshot) / MB,
         'copy_fresh_s': _best(lambda: cpu_copy(live()), a.repeats),
         'copy_into_buffers_s': _best(lambda: cpu_copy(live(), buffers), a.repeats),
         'save_last_s': [], 'save_last_direct_s': [], 'save_best_s': [], 'save_best_direct_s': []}
    for _ in range(a.repeats):  # alternating, so that neither way always follows the other
        r['save_last_s'] += _each(lambda: _save_fresh(snapshot, out/'last.pt'), 1)
        r['save_last_direct_s'] += _each(lambda: _save_fresh(snapshot, out/'last.pt', save_direct), 1)
        r['save_best_s'] += _each(lambda: _save_fresh(snapshot['model'], out/'best.pt'), 1)
        r['save_best_direct_s'] += _each(lambda: _save_fresh(snapshot['model'], out/'best.pt', save_direct), 1)
    r.update(last_mb=(out/'last.pt').stat().st_size / MB, best_mb=(out/'best.pt').stat().st_size / MB)
    def link():
        (out/'best.pt').unlink()
        os.link(out/'last.pt', out/'best.pt')
    r['link_s'] = _best(link, a.repeats)
    r['alone_steps_per_s'] = _steps_per_s(model, opt, x, y, a.steps)
    r['beside_writer_steps_per_s'] = _beside_a_writer(model, opt, x, y, a, snapshot, out)
    return r


# ---------------------------------------------------------------- real runs
def _written() -> int:
    "Bytes this process has passed to write() so far (Linux), else 0."
    try: return int(next(line for line in open('/proc/self/io') if line.startswith('wchar')).split()[1])
    except OSError: return 0

def _peak_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def _timed(cls, held:dict):
    "Wrap `cls`'s `TIMED_EVENTS` methods to append their seconds to `held[event]`."
    def wrap(name, original):
        def wrapper(self, learn):
            t = time.perf_counter()
            if original: original(self, learn)
            held[name].append(round(time.perf_counter() - t, 3))
        return wrapper
    for name in TIMED_EVENTS: setattr(cls, name, wrap(name, getattr(cls, name, None)))

def blocking(a, background:bool) -> dict:
    "Seconds a real run's `CheckpointCB` holds the loop after each epoch and at the run's end; bytes, RSS."
    import torch
    import birdclf.train as bt
    held = {name: [] for name in TIMED_EVENTS}
    _timed(bt.CheckpointCB, held)
    init = bt.CheckpointCB.__init__
    if 'background' in init.__code__.co_varnames:
        bt.CheckpointCB.__init__ = lambda self, *args, **kw: init(self, *args, **{**kw, 'background': background})
    elif background: sys.exit("this birdclf's CheckpointCB has no background writer: use --background off")
    torch.set_num_threads(a.threads)
    t, written = time.perf_counter(), _written()
    learn = bt.train(a.data, out=Path(a.out)/'run', overwrite=True, progress=False, arch='seed_cnn', image_size=224,
                     batch_size=a.batch_size, epochs=a.epochs, seed=0)
    return {'background': background, **{f'held_{name}_s': held[name] for name in TIMED_EVENTS},
            'epoch_seconds': [row['seconds'] for row in learn.history], 'fit_seconds': round(time.perf_counter() - t, 1),
            'written_mb': round((_written() - written) / MB), 'peak_rss_mb': round(_peak_mb()),
            'val_accuracy': learn.history[-1]['val_accuracy']}

def spawn(a, background:str) -> dict:
    "`blocking` in a fresh process (so that the peak RSS is the run's own), `background` 'on' or 'off'."
    args = [sys.executable, __file__, '--single', '--data', a.data, '--out', a.out, '--epochs', str(a.epochs),
            '--batch-size', str(a.batch_size), '--background', background, '--threads', str(a.threads)]
    p = subprocess.run(args, capture_output=True, text=True)
    lines = [line for line in p.stdout.splitlines() if line.startswith(RESULT)]
    if p.returncode or not lines: sys.exit(f"run failed (exit {p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return json.loads(lines[-1][len(RESULT):])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default=None, help='a folder on the disk to measure (default: a temporary folder)')
    p.add_argument('--data', default=None, help='a data folder: time CheckpointCB in real runs on it')
    p.add_argument('--classes', type=int, default=25)
    p.add_argument('--repeats', type=int, default=None, help='default: 3 without --data, 1 with it')
    p.add_argument('--steps', type=int, default=6, help='training steps timed alone and beside a writer')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--background', default='off,on')
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--single', action='store_true', help=argparse.SUPPRESS)  # one run, in a child process
    a = p.parse_args(argv)
    if a.data and not Path(a.data).is_dir():
        print(f"skipped: no data folder {a.data}")
        return 0
    with tempfile.TemporaryDirectory(dir=a.out) as scratch:
        a.out = scratch
        if a.single: print(RESULT + json.dumps(blocking(a, a.background == 'on')), flush=True)
        elif a.data:
            for _ in range(a.repeats or 1):
                for value in a.background.split(','): print(json.dumps(spawn(a, value)), flush=True)
        else:
            a.repeats, a.batch_size = a.repeats or 3, min(a.batch_size, 16)
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in io_costs(a).items()}))
    return 0

if __name__ == '__main__':
    sys.exit(main())
