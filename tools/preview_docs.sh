#!/usr/bin/env bash
# Preview the documentation site without Quarto (which cannot be installed everywhere): process the notebooks with
# nbdev_proc_nbs, as `nbdev_docs` does, then render every processed page to HTML with `jupyter nbconvert` (no
# execution: the processed notebooks already hold what the site shows, show_doc output included) into _preview/,
# with an index page that lists the pages in nbs/sidebar.yml's order and titles.
#
# Usage: bash tools/preview_docs.sh [OUT_DIR]      (default: _preview, which .gitignore ignores)
# Then:  python tools/check_docs.py [OUT_DIR]      (every __all__ name on its page, figures shown)
#
# The repository is never written to except OUT_DIR: nbdev_proc_nbs rewrites nbs/nbdev.yml, birdclf/_modidx.py and
# (without custom_sidebar) nbs/sidebar.yml, so it runs on a copy of the working tree (tracked files plus untracked
# files that git does not ignore) in a temporary folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-_preview}
case "$out" in /*) ;; *) out="$root/$out" ;; esac
t0=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. copy the working tree (as it is now, other people's unsaved-to-git edits included)
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$work"
# the copy uses the hand-written sidebar whatever settings.ini says
sed -i 's/^custom_sidebar *=.*/custom_sidebar = True/' "$work/settings.ini"
# nbdev_proc_nbs insists on Quarto being installed (it tries to download it otherwise), but does not run it
mkdir -p "$work/.stub"
printf '#!/bin/sh\necho "quarto stub (tools/preview_docs.sh): not installed here" >&2\nexit 1\n' > "$work/.stub/quarto"
chmod +x "$work/.stub/quarto"

# 2. process the notebooks as nbdev_docs would
echo "nbdev_proc_nbs in $work"
(cd "$work" && PATH="$work/.stub:$PATH" MPLBACKEND=Agg nbdev_proc_nbs) 2>&1 | grep -v '^$' || true
proc="$work/_proc"
ls "$proc"/*.ipynb > /dev/null || { echo "nbdev_proc_nbs produced no notebooks in $proc"; exit 1; }
echo "copied and processed in $((SECONDS-t0))s"

# 3. render every processed page to HTML, and copy the processed notebooks for tools/check_docs.py
rm -rf "$out"; mkdir -p "$out/_proc"
python - "$proc" "$out/_proc" <<'PY'
import json, re, sys, yaml
from pathlib import Path
src, dst = map(Path, sys.argv[1:])
for p in src.rglob('*.ipynb'):
    if any(part.startswith('.') for part in p.relative_to(src).parts): continue
    nb = json.loads(p.read_text())
    cells = []
    for c in nb['cells']:
        c.pop('has_sd', None)  # nbdev's marker for show_doc cells, not valid nbformat
        text = ''.join(c['source'])
        if c['cell_type'] == 'raw' and text.startswith('---'):  # front matter: shown as Quarto's title block
            fm = yaml.safe_load(text.strip().strip('-')) or {}
            md = f"# {fm.get('title', '')}" + (f"\n\n> {fm['description']}" if fm.get('description') else '')
            cells.append({'cell_type': 'markdown', 'id': c.get('id', 'fm'), 'metadata': {}, 'source': md}); continue
        if c['cell_type'] == 'code':  # Quarto's cell options: hide what the site hides, drop the option lines
            opts = dict(re.findall(r'^#\|\s*([\w-]+):\s*(.*?)\s*$', text, re.M))
            if opts.get('include') == 'false': continue
            if opts.get('echo') == 'false': c['metadata'].setdefault('tags', []).append('remove_input')
            if opts.get('output') == 'false': c['outputs'] = []
            c['source'] = re.sub(r'^#\|.*\n?', '', text, flags=re.M)
            for o in c.get('outputs', []):  # show_doc's markdown carries Quarto link attributes
                md = o.get('data', {}).get('text/markdown')
                if md: o['data']['text/markdown'] = re.sub(r'\{target="_blank"[^}]*\}', '', ''.join(md))
        cells.append(c)
    nb['cells'] = cells
    (dst/p.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
    (dst/p.relative_to(src)).write_text(json.dumps(nb, indent=1))
PY
(cd "$out/_proc" && find . -name '*.ipynb' -printf '%h\n' | sort -u) | while read -r d; do
  mkdir -p "$out/$d"
  jupyter nbconvert --to html --log-level ERROR --HTMLExporter.exclude_input_prompt=True \
    --HTMLExporter.exclude_output_prompt=True --TagRemovePreprocessor.enabled=True \
    --TagRemovePreprocessor.remove_input_tags=remove_input --output-dir "$out/$d" "$out/_proc/$d"/*.ipynb
done

# images the pages link to (markdown `![...](images/x.png)`), as Quarto copies them into the site
[ -d "$root/nbs/images" ] && cp -r "$root/nbs/images" "$out/images"
echo "rendered to HTML at $((SECONDS-t0))s"
# 4. index page (sidebar order and titles) and a navigation bar on every page
python - "$out" "$root/nbs/sidebar.yml" <<'PY'
import html, json, sys, yaml
from pathlib import Path
out, sidebar = Path(sys.argv[1]), Path(sys.argv[2])

def entries(items, section=None):
    for it in items:
        if isinstance(it, str): yield section, it, None
        elif 'section' in it: yield from entries(it.get('contents', []), it['section'])
        else: yield section, it['href'], it.get('text')

listed = list(entries(yaml.safe_load(sidebar.read_text())['website']['sidebar']['contents'])) if sidebar.exists() else []
pages = [p.relative_to(out/'_proc').with_suffix('').as_posix() for p in sorted((out/'_proc').rglob('*.ipynb'))]
def title(page):
    nb = json.loads((out/'_proc'/f'{page}.ipynb').read_text())
    for c in nb['cells']:
        src = ''.join(c['source'])
        for line in src.splitlines():
            if line.startswith('title:'): return line[6:].strip().strip('"\'')
            if line.startswith('# '): return line[2:].strip()
    return page
rows, seen = [], set()
for section, href, text in listed:
    page = href.rsplit('.', 1)[0]
    rows.append((section, page, text or (title(page) if page in pages else page), page in pages)); seen.add(page)
for page in pages:  # pages the sidebar forgot
    if page not in seen: rows.append(('Not in sidebar.yml', page, title(page), True))

links, last = [], object()
for section, page, text, exists in rows:
    if section != last:
        if links: links.append('</ul>')
        links.append(f'<h3>{html.escape(section)}</h3><ul>' if section else '<ul>')
        last = section
    a = f'<a href="{page}.html">{html.escape(text)}</a>' if exists else f'{html.escape(text)} <b>(missing: {page})</b>'
    links.append(f'<li>{a} <small><code>{page}</code></small></li>')
links.append('</ul>')
contents = ('<nav class="preview-contents"><b>Contents</b> (nbs/sidebar.yml; processed by <code>nbdev_proc_nbs</code>, '
            'rendered by <code>jupyter nbconvert</code>: the real site is rendered by Quarto)' + ''.join(links) + '</nav>'
            '<style>.preview-contents{font-family:sans-serif;margin:1em 2em;padding:.5em 1em;border:1px solid #ccc}'
            '.preview-contents h3{margin:.5em 0 .2em}.preview-contents ul{margin:0}.preview-contents small{color:#888}</style>')
if not (out/'index.html').exists():  # no index.ipynb: a bare page
    (out/'index.html').write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>birdclf docs preview</title>'
                                  '</head><body></body></html>')
    rows.insert(0, (None, 'index', 'Home', True))

order = [(p, t) for _, p, t, e in rows if e]
for i, (page, text) in enumerate(order):
    f, up = out/f'{page}.html', '../' * page.count('/')
    prev = f'<a href="{up}{order[i-1][0]}.html">&larr; {html.escape(order[i-1][1])}</a>' if i else ''
    nxt = f'<a href="{up}{order[i+1][0]}.html">{html.escape(order[i+1][1])} &rarr;</a>' if i + 1 < len(order) else ''
    bar = (f'<div class="preview-bar"><a href="{up}index.html">birdclf preview</a> | <b>{html.escape(text)}</b>'
           f'<span style="float:right">{prev} &nbsp; {nxt}</span></div>'
           '<style>.preview-bar{font-family:sans-serif;padding:.5em 1em;background:#2780e3;color:white}'
           '.preview-bar a{color:white}</style>')
    if page == 'index': bar += contents
    s = f.read_text()
    i0 = s.find('>', s.find('<body')) + 1
    f.write_text(s[:i0] + bar + s[i0:])
print(f'{len(order)} pages and index.html in {out}')
PY
echo "preview built in $((SECONDS-t0))s: file://$out/index.html"
