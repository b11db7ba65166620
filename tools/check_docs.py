#!/usr/bin/env python
"""Check the documentation preview built by tools/preview_docs.sh (default folder: _preview).

For every module in birdclf, its page (the notebook that exports it, from `# | default_exp`) must show every name in
the module's `__all__` (anywhere in the page's text: prose, code, outputs or show_doc API docs;
`# | default_exp` is read from nbs/<page>.ipynb since nbdev_proc_nbs drops that cell), and every page whose
processed notebook has an image output must show an image. Prints a summary per page; exits 1 with the list of what
is missing.

Usage: python tools/check_docs.py [PREVIEW_DIR]
"""
import html, importlib, json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
out = Path(sys.argv[1]) if len(sys.argv) > 1 else root/'_preview'
proc = out/'_proc'

def page_text(f):
    "The text a reader sees (tags stripped), plus the raw HTML."
    s = f.read_text(errors='replace')
    body = s[s.find('<body'):]
    body = re.sub(r'<(script|style)\b.*?</\1>', ' ', body, flags=re.S | re.I)
    return html.unescape(re.sub(r'<[^>]+>', '', body)), s

def default_exp(nb):
    for c in nb['cells']:
        if c['cell_type'] != 'code': continue
        m = re.search(r'^#\s*\|\s*default_exp\s+(\S+)', ''.join(c['source']), re.M)
        if m: return m.group(1)

def n_images(nb):
    return sum(1 for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', [])
               if any(k.startswith('image/') for k in o.get('data', {})))

if not proc.is_dir(): sys.exit(f'no {proc}: run `bash tools/preview_docs.sh` first')
sys.path.insert(0, str(root))
problems, modules_seen = [], set()
for nbf in sorted(proc.rglob('*.ipynb')):
    page = nbf.relative_to(proc).with_suffix('')
    htmlf = out/f'{page}.html'
    if not htmlf.exists():
        problems.append(f'{page}: no HTML page {htmlf}'); print(f'{str(page):28} MISSING PAGE'); continue
    nb = json.loads(nbf.read_text())
    text, raw = page_text(htmlf)
    notes = []
    src = root/'nbs'/f'{page}.ipynb'  # nbdev_proc_nbs drops the default_exp cell: read it from the source notebook
    mod = default_exp(json.loads(src.read_text())) if src.exists() else default_exp(nb)
    if mod:
        modules_seen.add(mod)
        names = getattr(importlib.import_module(f'birdclf.{mod}'), '__all__', [])
        missing = [n for n in names if not re.search(rf'(?<![\w]){re.escape(n)}(?![\w])', text)]
        in_sd = sum(1 for n in names if re.search(rf'<h[2-4][^>]*>\s*(<[^>]+>\s*)*{re.escape(n)}\b', raw))
        notes.append(f'birdclf.{mod}: {len(names) - len(missing)}/{len(names)} names of __all__ shown, '
                     f'{in_sd} with a heading (show_doc)')
        if missing: problems.append(f'{page}.html lacks {len(missing)} name(s) of birdclf.{mod}.__all__: {", ".join(missing)}')
    imgs, shown = n_images(nb), len(re.findall(r'<img\b', raw))
    notes.append(f'{imgs} image output(s) in the notebook, {shown} <img> on the page')
    if imgs and not shown: problems.append(f'{page}.html: the notebook has {imgs} figure(s) but the page shows no <img>')
    code = [c for c in nb['cells'] if c['cell_type'] == 'code']
    sd = [c for c in code if 'show_doc(' in ''.join(c['source'])]
    shown_code = [c for c in code if c not in sd]
    notes.append(f'{len(sd)} show_doc blocks; {sum(bool(c.get("outputs")) for c in shown_code)} of '
                 f'{len(shown_code)} code cells with outputs')
    print(f'{str(page):28} ' + '; '.join(notes))

sidebar = root/'nbs'/'sidebar.yml'  # the hand-written sidebar lists every page, and only pages that exist
def hrefs(items):
    for it in items:
        if isinstance(it, str): yield it
        elif 'section' in it: yield from hrefs(it.get('contents', []))
        else: yield it['href']
if sidebar.exists():
    import yaml
    listed = {h.rsplit('.', 1)[0] for h in hrefs(yaml.safe_load(sidebar.read_text())['website']['sidebar']['contents'])}
    pages = {p.relative_to(proc).with_suffix('').as_posix() for p in proc.rglob('*.ipynb')}
    problems += [f'nbs/sidebar.yml does not list {p}' for p in sorted(pages - listed)]
    problems += [f'nbs/sidebar.yml lists {p}, which is not a page' for p in sorted(listed - pages)]
    print(f'sidebar.yml: {len(listed & pages)} of {len(pages)} pages listed')

pkg = root/'birdclf'
for f in sorted(pkg.glob('*.py')):
    m = f.stem
    if m.startswith('_') or m in modules_seen: continue
    if '__all__' in f.read_text(): problems.append(f'birdclf.{m} has __all__ but no processed page exports it')

if problems:
    print(f'\n{len(problems)} problem(s):'); print('\n'.join(f'- {p}' for p in problems)); sys.exit(1)
print('\ndocs preview OK: every __all__ name is on its page, every figure is shown')
