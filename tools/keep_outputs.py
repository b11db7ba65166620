"""Execute a notebook in a fresh kernel and keep the outputs of its lesson cells.

usage: python keep_outputs.py NB.ipynb [--only ID,ID,...] [--timeout S]
Kept: code cells that are neither `#| export` nor `#| hide`; with --only, new outputs for those ids, the rest as they were.
Dropped from kept cells: stderr streams and widget outputs (tqdm bars). Run nbdev_clean afterwards.
"""
import argparse, json, sys, os
import nbformat
from nbclient import NotebookClient

ap = argparse.ArgumentParser()
ap.add_argument('nb'); ap.add_argument('--max-width', type=int, default=0); ap.add_argument('--jpeg-over', type=int, default=0)
ap.add_argument('--only', default=''); ap.add_argument('--timeout', type=int, default=900)
a = ap.parse_args()
nb = nbformat.read(a.nb, as_version=4)
original = {c.get('id'): c.get('outputs', []) for c in nbformat.read(a.nb, as_version=4).cells}
NotebookClient(nb, timeout=a.timeout, kernel_name='python3',
               resources={'metadata': {'path': os.path.dirname(os.path.abspath(a.nb))}}).execute()
only = set(filter(None, a.only.split(',')))
def lesson(c):
    s = c.source
    if only: return c.get('id') in only
    return not any(f in s for f in ('#| export', '#| hide', '#|export', '#|hide'))
def keep(o):
    if o.get('output_type') == 'stream' and o.get('name') == 'stderr': return False
    if 'application/vnd.jupyter.widget-view+json' in o.get('data', {}): return False
    return True
def shrink(o):
    "Scale PNG outputs down to --max-width pixels; re-encode those still over --jpeg-over bytes as JPEG."
    import base64, io
    from PIL import Image
    data = o.get('data', {})
    if 'image/png' not in data or not (a.max_width or a.jpeg_over): return o
    im = Image.open(io.BytesIO(base64.b64decode(data['image/png'])))
    if a.max_width and im.width > a.max_width:
        im = im.resize((a.max_width, round(im.height * a.max_width / im.width)), Image.LANCZOS)
    buf = io.BytesIO(); im.save(buf, 'PNG', optimize=True)
    if a.jpeg_over and buf.tell() > a.jpeg_over:
        buf = io.BytesIO(); im.convert('RGB').save(buf, 'JPEG', quality=80)
        del data['image/png']; data['image/jpeg'] = base64.b64encode(buf.getvalue()).decode()
    else: data['image/png'] = base64.b64encode(buf.getvalue()).decode()
    o.get('metadata', {}).pop('image/png', None)
    return o
kept = 0
for c in nb.cells:
    if c.cell_type != 'code': continue
    if lesson(c): c.outputs = [shrink(o) for o in c.outputs if keep(o)]; kept += bool(c.outputs)
    else: c.outputs = original.get(c.get('id'), []) if only else []
    c.execution_count = None
nb.metadata.pop('widgets', None)  # nbclient's widget state: not for the repo
nbformat.write(nb, a.nb)
print(f"{a.nb}: outputs kept in {kept} cells")
