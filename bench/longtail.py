"""Long-tailed folders: `--balance none|weights|sampler` compared on a long-tailed copy of a dataset.

    python bench/longtail.py DATA_DIR [--most 40] [--fewest 4] [--epochs 3] [--seeds 0,1]
                                      [--modes none,weights,sampler] [--arch efficientnet_lite0]

Builds (once, in a temporary folder) a copy of DATA_DIR whose training photos per species fall geometrically
from `--most` to `--fewest` (`birdclf.data.long_tailed_copy`; val/ and test/ untouched, hard links), trains
one run per mode and seed with birdclf's defaults otherwise (pretrained when the arch has weights), and scores
each run's best.pt on test/: accuracy, macro F1, and the mean recall of the `--rare` species with the fewest
training photos. Prints one row per run, then the mean per mode.
"""
import argparse, statistics, tempfile, time
from pathlib import Path


def run_one(data: Path, out: Path, mode: str, seed: int, a) -> dict:
    from birdclf.infer import evaluate
    from birdclf.model import pretrained_archs
    from birdclf.train import train
    t0 = time.time()
    train(data, arch=a.arch, pretrained=a.arch in pretrained_archs(), epochs=a.epochs, balance=mode, seed=seed,
          out=out, progress='none', overwrite=True, **({'image_size': a.image_size} if a.image_size else {}))
    minutes = (time.time() - t0) / 60
    r = evaluate(out, data, 'test', workers=0)
    return dict(r=r, minutes=minutes)


def rare_recall(r, counts: dict, n: int) -> float:
    "Mean test recall of the `n` species with the fewest training photos."
    rare = sorted(counts, key=lambda c: (counts[c], c))[:n]
    recall = {row['cls']: row['recall'] for row in r.per_class}
    return statistics.mean(recall[c] for c in rare)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data_dir')
    p.add_argument('--most', type=int, default=40)
    p.add_argument('--fewest', type=int, default=4)
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--seeds', default='0,1')
    p.add_argument('--modes', default='none,weights,sampler')
    p.add_argument('--arch', default='efficientnet_lite0')
    p.add_argument('--image-size', type=int, default=None)
    p.add_argument('--rare', type=int, default=5, help='how many of the rarest species to average the recall over')
    a = p.parse_args()
    from birdclf.data import long_tailed_copy
    from birdclf.train import cpu_has_fast_bf16
    work = Path(tempfile.mkdtemp(prefix='birdclf-longtail-'))
    counts = long_tailed_copy(a.data_dir, work/'data', most=a.most, fewest=a.fewest, seed=0)
    print(f"long-tailed copy of {a.data_dir}: training photos per species {counts}")
    print(f"CPU: {'native bf16 (training in bf16)' if cpu_has_fast_bf16() else 'no native bf16 (fp32)'}")
    rows = []
    for seed in map(int, a.seeds.split(',')):
        for mode in a.modes.split(','):
            res = run_one(work/'data', work/f'{mode}_{seed}', mode, seed, a)
            r = res['r']
            row = dict(mode=mode, seed=seed, acc=r.metrics['accuracy'], f1=r.metrics['f1'],
                       rare=rare_recall(r, counts, a.rare), ece=r.metrics['ece'], minutes=res['minutes'])
            rows.append(row)
            print(f"{mode:8} seed {seed}: test accuracy {row['acc']:.3f} · macro F1 {row['f1']:.3f} · "
                  f"recall of the {a.rare} rarest {row['rare']:.3f} · ECE {row['ece']:.3f} · "
                  f"{row['minutes']:.1f} min", flush=True)
    print(f"\n{a.arch}, {a.epochs} epochs, mean over seeds {a.seeds}:")
    print(f"{'balance':8}  {'accuracy':>8}  {'macro F1':>8}  {'rare recall':>11}  {'ECE':>5}  {'minutes':>7}")
    for mode in a.modes.split(','):
        mine = [r for r in rows if r['mode'] == mode]
        mean = {k: statistics.mean(r[k] for r in mine) for k in ('acc', 'f1', 'rare', 'ece', 'minutes')}
        print(f"{mode:8}  {mean['acc']:8.3f}  {mean['f1']:8.3f}  {mean['rare']:11.3f}  {mean['ece']:5.3f}  "
              f"{mean['minutes']:7.1f}")


if __name__ == '__main__':
    main()
