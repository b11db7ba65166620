"""A stronger recipe (issue 13): the weight average (`--ema`) and mixing (`--mix`) against the baseline.

    python bench/recipe.py [DATA_DIR] [--arch efficientnet_lite0] [--epochs 3] [--image-size 224]
                           [--variants baseline,ema,mixup] [--seeds 0] [--lr-find]

DATA_DIR defaults to ../shared/data/birds10 (train/, val/ and test/). Each variant trains one run per seed with
birdclf's defaults otherwise (pretrained when the arch has weights, calibrated), then scores the run's best.pt on
test/ with `birdclf.infer.evaluate`: accuracy, log loss and ECE (both at the run's fitted temperature), and the
training minutes. A variant is `baseline`, `ema` (decay 0.999), `ema=DECAY`, `mixup`, `cutmix`, `mixup=ALPHA`,
`cutmix=ALPHA`, `lr=LR` (lr_find's suggestion, say), or several joined by '+' (`ema+mixup`). `--lr-find` first
prints `lr_find`'s suggestion for the arch. Prints a row per run, then the mean per variant. Prints `skipped: ...`
and exits 0 when DATA_DIR is absent.
"""
import argparse, os, statistics, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def variant_options(variant: str) -> dict:
    "The training options of a variant such as 'baseline', 'ema', 'ema=0.99', 'cutmix=0.5' or 'ema+mixup'."
    options = {}
    for part in variant.split('+'):
        name, _, value = part.partition('=')
        if name == 'baseline': continue
        elif name == 'ema': options['ema'] = float(value or 0.999)
        elif name in ('mixup', 'cutmix'): options.update(mix=name, **({'mix_alpha': float(value)} if value else {}))
        elif name == 'lr' and value: options['lr'] = float(value)
        else: raise SystemExit(f"unknown variant part '{part}' (baseline, ema[=DECAY], mixup[=ALPHA], cutmix[=ALPHA], "
                               "lr=LR)")
    return options


def run_one(data: Path, out: Path, variant: str, seed: int, a) -> dict:
    from birdclf.infer import evaluate
    from birdclf.model import pretrained_archs
    from birdclf.train import train
    t0 = time.time()
    learn = train(data, arch=a.arch, pretrained=a.arch in pretrained_archs(), epochs=a.epochs, seed=seed, out=out,
                  image_size=a.image_size, batch_size=a.batch_size, progress='none', overwrite=True,
                  **variant_options(variant))
    minutes = (time.time() - t0) / 60
    m = evaluate(out, data, 'test', workers=0).metrics
    return dict(variant=variant, seed=seed, acc=m['accuracy'], log_loss=m['log_loss'], ece=m['ece'],
                val_acc=max(r['val_accuracy'] for r in learn.history), minutes=minutes)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data_dir', nargs='?', default=str(ROOT.parent/'shared'/'data'/'birds10'))
    p.add_argument('--arch', default='efficientnet_lite0')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--image-size', type=int, default=224)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--variants', default='baseline,ema,mixup')
    p.add_argument('--seeds', default='0')
    p.add_argument('--lr-find', action='store_true', help="print lr_find's suggestion for the arch first")
    a = p.parse_args()
    data = Path(a.data_dir)
    if not (data/'train').is_dir() or not (data/'test').is_dir():
        print(f"skipped: {data} has no train/ and test/ (real photos are not part of the repository)")
        return
    for variant in a.variants.split(','): variant_options(variant)  # a typo fails before any training
    import torch
    from birdclf.train import cpu_has_fast_bf16, lr_find
    from birdclf.model import pretrained_archs
    print(f"{data}: {a.arch}, {a.epochs} epochs at {a.image_size} px, batch {a.batch_size}; torch threads "
          f"{torch.get_num_threads()}, CPU {'bf16' if cpu_has_fast_bf16() else 'fp32'}; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    if a.lr_find:
        t0 = time.time()
        found = lr_find(data, arch=a.arch, pretrained=a.arch in pretrained_archs(), image_size=a.image_size,
                        batch_size=a.batch_size, seed=0, progress='none')
        print(f"lr_find: suggestion {found['suggestion']:.1e} over {len(found['lrs'])} steps "
              f"({(time.time() - t0) / 60:.1f} min)", flush=True)
    work = Path(tempfile.mkdtemp(prefix='birdclf-recipe-'))
    rows = []
    for seed in map(int, a.seeds.split(',')):
        for variant in a.variants.split(','):
            row = run_one(data, work/f'{variant}_{seed}', variant, seed, a)
            rows.append(row)
            print(f"{variant:14} seed {seed}: test accuracy {row['acc']:.3f} · log loss {row['log_loss']:.3f} · "
                  f"ECE {row['ece']:.3f} · best val accuracy {row['val_acc']:.3f} · {row['minutes']:.1f} min",
                  flush=True)
    print(f"\n{a.arch}, {a.epochs} epochs, {a.image_size} px, mean over seeds {a.seeds} "
          f"(load average at the end {os.getloadavg()[0]:.1f}):")
    print(f"| {'variant':14} | test accuracy | test log loss | test ECE | minutes |")
    print(f"|{'-' * 16}|---------------|---------------|----------|---------|")
    for variant in a.variants.split(','):
        mine = [r for r in rows if r['variant'] == variant]
        mean = {k: statistics.mean(r[k] for r in mine) for k in ('acc', 'log_loss', 'ece', 'minutes')}
        print(f"| {variant:14} | {mean['acc']:13.3f} | {mean['log_loss']:13.3f} | {mean['ece']:8.3f} | "
              f"{mean['minutes']:7.1f} |")


if __name__ == '__main__':
    sys.exit(main())
