"""The seed notebook's training loop, reproduced faithfully (see ../shared/seed/README.md), for benchmarks.

Same CNN (birdclf's `SeedCNN` is the seed's `MyModel` layer for layer), Adam lr 1e-3, cross-entropy,
torchvision `ImageFolder` with Resize → ToTensor → Normalize decoding every JPEG in every epoch, fp32,
softmax and `.cpu().numpy()` on every batch, and the six sklearn metrics on each split in every epoch.
The README does not show the DataLoader arguments: `num_workers` is left at PyTorch's default (0).

    python bench/seed_loop.py DATA_DIR [--epochs 3] [--image-size 224] [--batch-size 64] [--threads N]

Prints the validation metrics per epoch like the seed, then one JSON line of timings (prefixed `RESULT `).
"""
import argparse, json, os, resource, sys, time
from pathlib import Path

import numpy as np
import torch
from torch import nn, optim
from torch.utils.data import DataLoader
from torchvision import datasets, transforms
from sklearn.metrics import accuracy_score, precision_score, recall_score, f1_score, roc_auc_score, log_loss

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from birdclf.model import SeedCNN as MyModel  # the seed's layers: Conv/ReLU/BN ×5 + Dropout/Linear/ReLU/BN ×3 + Linear

mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def epoch_metrics(labels, preds, probs, n_classes):
    "The seed's six metrics (ROC-AUC is nan when a short smoke run misses a class)."
    try: auc = roc_auc_score(labels, probs, multi_class='ovr')
    except ValueError: auc = float('nan')
    return dict(accuracy=accuracy_score(labels, preds),
                precision=precision_score(labels, preds, average='macro', zero_division=0),
                recall=recall_score(labels, preds, average='macro', zero_division=0),
                f1=f1_score(labels, preds, average='macro', zero_division=0),
                roc_auc=auc, log_loss=log_loss(labels, probs, labels=list(range(n_classes))))


def run_split(model, loader, criterion, optimizer, device, train, n_classes):
    "One pass over `loader` as the seed does it; returns (metrics, images, seconds)."
    start = time.perf_counter()
    model.train() if train else model.eval()
    all_preds, all_probs, all_labels, running_loss = [], [], [], 0.0
    with torch.set_grad_enabled(train):
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            if train: optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            if train:
                loss.backward()
                optimizer.step()
            running_loss += loss.item()
            probs = torch.softmax(outputs, dim=1)
            _, preds = torch.max(outputs, 1)
            all_preds.extend(preds.cpu().numpy())
            all_probs.extend(probs.detach().cpu().numpy())
            all_labels.extend(labels.cpu().numpy())
    metrics = epoch_metrics(all_labels, all_preds, np.array(all_probs), n_classes)
    return metrics, len(all_labels), time.perf_counter() - start


def run(data_dir, epochs=3, image_size=224, batch_size=64, threads=None, seed=0, verbose=True):
    "Train the seed's way on `data_dir/train`, validating on `data_dir/val`; timings and the last val metrics."
    t0 = time.perf_counter()
    if threads: torch.set_num_threads(threads)
    torch.manual_seed(seed)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    transform = transforms.Compose([transforms.Resize((image_size, image_size)), transforms.ToTensor(),
                                    transforms.Normalize(mean, std)])
    train_data = datasets.ImageFolder(root=str(Path(data_dir)/'train'), transform=transform)
    val_data = datasets.ImageFolder(root=str(Path(data_dir)/'val'), transform=transform)
    train_loader = DataLoader(train_data, batch_size=batch_size, shuffle=True)
    val_loader = DataLoader(val_data, batch_size=batch_size, shuffle=False)
    n_classes = len(train_data.classes)
    model = MyModel(n_classes).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    out = dict(train_images=0, train_seconds=0.0, val_images=0, val_seconds=0.0)
    for epoch in range(epochs):
        train_m, n, s = run_split(model, train_loader, criterion, optimizer, device, True, n_classes)
        out['train_images'] += n; out['train_seconds'] += s
        val_m, n, s = run_split(model, val_loader, criterion, optimizer, device, False, n_classes)
        out['val_images'] += n; out['val_seconds'] += s
        if verbose:
            print(f"Epoch {epoch+1}/{epochs} - Val Accuracy: {val_m['accuracy']:.4f}, Precision: {val_m['precision']:.4f}, "
                  f"Recall: {val_m['recall']:.4f}, F1: {val_m['f1']:.4f}, ROC-AUC: {val_m['roc_auc']:.4f}, "
                  f"Log Loss: {val_m['log_loss']:.4f}", flush=True)
    if verbose: print('Training complete.', flush=True)
    out.update(val_accuracy=val_m['accuracy'], val_log_loss=val_m['log_loss'], run_seconds=time.perf_counter() - t0,
               model=model)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_dir')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--image-size', type=int, default=224)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args(argv)
    if not (Path(a.data_dir)/'train').is_dir():
        print(f"skipped: no data folder with train/ and val/ at {a.data_dir}", file=sys.stderr); return 0
    r = run(a.data_dir, a.epochs, a.image_size, a.batch_size, a.threads, a.seed)
    r.pop('model')
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print('RESULT ' + json.dumps({**r, 'peak_rss_mb': peak / 1024}), flush=True)
    return 0


if __name__ == '__main__': sys.exit(main())
