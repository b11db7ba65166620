"""Re-encode a notebook's PNG outputs with a 256-colour palette (plots lose nothing visible), when that is smaller.
usage: python shrink_pngs.py NB.ipynb [NB ...]"""
import base64, io, json, sys
from PIL import Image
for p in sys.argv[1:]:
    nb = json.load(open(p)); before = after = 0
    for c in nb['cells']:
        for o in c.get('outputs', []):
            data = o.get('data', {})
            if 'image/png' not in data: continue
            raw = base64.b64decode(''.join(data['image/png']) if isinstance(data['image/png'], list) else data['image/png'])
            im = Image.open(io.BytesIO(raw)).convert('RGB')
            buf = io.BytesIO(); im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(buf, 'PNG', optimize=True)
            before += len(raw)
            if buf.tell() < 0.8 * len(raw): data['image/png'] = base64.b64encode(buf.getvalue()).decode(); after += buf.tell()
            else: after += len(raw)
    json.dump(nb, open(p, 'w'), indent=1, ensure_ascii=False); open(p, 'a').write('\n')
    print(f"{p}: {before // 1024} KB -> {after // 1024} KB of PNG")
