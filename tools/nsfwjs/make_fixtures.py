#!/usr/bin/env python3
"""Regenerates tests/fixtures/nsfw/ from photographs shipped in Debian packages.

    make tools-deps                      # python3-pil, python3-skimage, opencv-doc (deps/debian-tools.txt)
    python3 tools/nsfwjs/make_fixtures.py [--out tests/fixtures/nsfw]

What it does:
1. tools/nsfwjs/setup.sh installs nsfwjs 4.4.0 + @tensorflow/tfjs (npm ci) and writes the three
   models as TF.js folders into a temporary models dir.
2. Pillow decodes each photo in PHOTOS: Image.open(path).convert('RGB') (grayscale 'L' is
   replicated to R=G=B, alpha would be dropped, as tf.browser.fromPixels does), written as a
   temporary raw RGB file; the sha256 of the photo file and of that full-size RGB decode go into
   the manifest, so a checker with the package installed can confirm it decodes the same pixels.
3. make_fixtures.js (node, nsfwjs on tfjs CPU) squashes each decode to 224×224 and 299×299 with
   tf.image.resizeBilinear(alignCorners=true) (the resize nsfwjs applies), rounds to uint8, saves
   PNG (lossless), and records nsfwjs's probabilities for all three models, both on the PNG pixels
   and on the full-size decode (expected.json).
4. Pillow reads every PNG back and checks it holds exactly the pixels node hashed.
5. weights_digest.js records the sha256 of every weight as tfjs dequantises it
   (weights_sha256.json), and numpy recomputes them with float32(double(q) * scale + min) from
   the .bin shards: the formula FORMAT.md gives the C++ importer, checked against tfjs.
6. activations.js summarises every layer's / node's output on one fixture (activations.json),
   to locate the first diverging layer when the importer's final outputs are off.
7. manifest.json lists everything.

Only the small resized PNGs, expected.json and manifest.json are committed, never the packages.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    from PIL import Image
    import PIL
except ImportError:  # a pyenv python first on PATH: fall back to Debian's, which has python3-pil
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath(
            '/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    raise

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

SKI = '/usr/lib/python3/dist-packages/skimage/data/'
CV = '/usr/share/doc/opencv-doc/examples/'

# (id, Debian package, path). Photographs only (no diagrams, charts or renders), a mix of JPEG
# and PNG, one grayscale, sizes from 380×254 to 1411×1411. Two paintings/art photos
# (starry_night, graf1) exercise the Drawing class.
PHOTOS = [
    ('astronaut', 'python3-skimage', SKI + 'astronaut.png'),
    ('chelsea', 'python3-skimage', SKI + 'chelsea.png'),
    ('coffee', 'python3-skimage', SKI + 'coffee.png'),
    ('rocket', 'python3-skimage', SKI + 'rocket.jpg'),
    ('motorcycle_left', 'python3-skimage', SKI + 'motorcycle_left.png'),
    ('hubble_deep_field', 'python3-skimage', SKI + 'hubble_deep_field.jpg'),
    ('retina', 'python3-skimage', SKI + 'retina.jpg'),
    ('camera', 'python3-skimage', SKI + 'camera.png'),
    ('baboon', 'opencv-doc', CV + 'data/baboon.jpg'),
    ('fruits', 'opencv-doc', CV + 'data/fruits.jpg'),
    ('messi5', 'opencv-doc', CV + 'data/messi5.jpg'),
    ('building', 'opencv-doc', CV + 'data/building.jpg'),
    ('apple', 'opencv-doc', CV + 'data/apple.jpg'),
    ('orange', 'opencv-doc', CV + 'data/orange.jpg'),
    ('butterfly', 'opencv-doc', CV + 'data/butterfly.jpg'),
    ('home', 'opencv-doc', CV + 'data/home.jpg'),
    ('starry_night', 'opencv-doc', CV + 'data/starry_night.jpg'),
    ('squirrel_cls', 'opencv-doc', CV + 'data/squirrel_cls.jpg'),
    ('aero1', 'opencv-doc', CV + 'data/aero1.jpg'),
    ('leuvenA', 'opencv-doc', CV + 'data/leuvenA.jpg'),
    ('aloeL', 'opencv-doc', CV + 'data/aloeL.jpg'),
    ('graf1', 'opencv-doc', CV + 'data/graf1.png'),
    ('ela_original', 'opencv-doc', CV + 'data/ela_original.jpg'),
    ('plant', 'opencv-doc', CV + 'alphamat/input_images/plant.jpg'),
]
SIZES = (224, 299)


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def package_version(pkg):
    try:
        return subprocess.run(['dpkg-query', '-W', '-f=${Version}', pkg], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def check_dequantisation(models_dir, digest):
    import numpy as np
    for name, weights in digest.items():
        j = json.load(open(os.path.join(models_dir, name, 'model.json')))
        for g in j['weightsManifest']:
            buf = b''.join(open(os.path.join(models_dir, name, p), 'rb').read() for p in g['paths'])
            off = 0
            for w in g['weights']:
                n = int(np.prod(w['shape'], dtype=np.int64))
                q = w['quantization']
                if q['dtype'] != 'uint8':
                    sys.exit(f'{name}/{w["name"]}: {q["dtype"]} quantisation not expected')
                v = np.frombuffer(buf, np.uint8, n, off).astype(np.float64) * q['scale'] + q['min']
                off += n
                if sha256(v.astype('<f4').tobytes()) != weights[w['name']]['sha256']:
                    sys.exit(f'{name}/{w["name"]}: numpy dequantisation differs from tfjs')
            if off != len(buf):
                sys.exit(f'{name}: shards hold {len(buf)} bytes, manifest uses {off}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(ROOT, 'tests', 'fixtures', 'nsfw'))
    args = ap.parse_args()

    missing = [p for _, _, p in PHOTOS if not os.path.exists(p)]
    if missing:
        sys.exit('missing photos (install deps/debian-tools.txt: make tools-deps):\n  ' +
                 '\n  '.join(missing))

    tmp = tempfile.mkdtemp(prefix='seer-nsfw-fixtures-')
    try:
        models_dir = os.path.join(tmp, 'models')
        subprocess.run(['bash', os.path.join(HERE, 'setup.sh'), models_dir], check=True)

        photos = []
        job = []
        for pid, pkg, path in PHOTOS:
            data = open(path, 'rb').read()
            with Image.open(path) as im:
                fmt, mode = im.format, im.mode
                rgb = im.convert('RGB')
            raw = rgb.tobytes()
            raw_file = os.path.join(tmp, pid + '.rgb')
            open(raw_file, 'wb').write(raw)
            w, h = rgb.size
            job.append({'id': pid, 'rgb': raw_file, 'width': w, 'height': h})
            photos.append({
                'id': pid,
                'package': pkg,
                'package_version': package_version(pkg),
                'path': path,
                'file_bytes': len(data),
                'file_sha256': sha256(data),
                'format': fmt,
                'mode': mode,
                'width': w,
                'height': h,
                'rgb_sha256': sha256(raw),
            })

        out = os.path.abspath(args.out)
        os.makedirs(out, exist_ok=True)
        for s in SIZES:  # no stale PNGs from photos dropped from the list
            shutil.rmtree(os.path.join(out, str(s)), ignore_errors=True)
        job_file = os.path.join(tmp, 'job.json')
        json.dump({'photos': job, 'models_dir': os.path.join(models_dir, 'nsfwjs'), 'out_dir': out},
                  open(job_file, 'w'))
        res = subprocess.run(['node', os.path.join(HERE, 'make_fixtures.js'), job_file], check=True,
                             stdout=subprocess.PIPE, text=True)
        hashes = json.loads(res.stdout)

        for p in photos:
            p['fixtures'] = {}
            for s in SIZES:
                rel = f'{s}/{p["id"]}.png'
                with Image.open(os.path.join(out, rel)) as im:
                    if im.mode != 'RGB' or im.size != (s, s):
                        sys.exit(f'{rel}: Pillow reads {im.mode} {im.size}')
                    got = sha256(im.tobytes())
                if got != hashes[p['id']][str(s)]:
                    sys.exit(f'{rel}: Pillow decodes other pixels than node wrote')
                p['fixtures'][str(s)] = {'file': rel, 'rgb_sha256': got,
                                         'png_bytes': os.path.getsize(os.path.join(out, rel))}

        digest = subprocess.run(['node', os.path.join(HERE, 'weights_digest.js'),
                                 os.path.join(models_dir, 'nsfwjs')], check=True,
                                stdout=subprocess.PIPE).stdout
        check_dequantisation(os.path.join(models_dir, 'nsfwjs'), json.loads(digest))
        with open(os.path.join(out, 'weights_sha256.json'), 'wb') as f:
            f.write(digest)

        acts = subprocess.run(['node', os.path.join(HERE, 'activations.js'), '--fixtures', out],
                              check=True, stdout=subprocess.PIPE).stdout
        with open(os.path.join(out, 'activations.json'), 'wb') as f:
            f.write(acts)

        manifest = {
            'generator': 'tools/nsfwjs/make_fixtures.py',
            'decoder': f'Pillow {PIL.__version__}: Image.open(path).convert("RGB"), HWC row-major '
                       'uint8; rgb_sha256 is the sha256 of those bytes (full size)',
            'fixture_format': 'PNG, 8-bit RGB, non-interlaced, lossless. Pixels = round(tfjs '
                              'resizeBilinear(float32(full-size RGB), [S, S], alignCorners=true)) '
                              'clamped to 0..255, S = 224 (MobileNetV2, MobileNetV2Mid) or 299 '
                              '(InceptionV3); rgb_sha256 is the sha256 of the decoded S*S*3 bytes.',
            'expected': 'expected.json: nsfwjs 4.4.0 probabilities per model and photo',
            'weights': 'weights_sha256.json: sha256 of every dequantised float32 weight (tfjs)',
            'activations': 'activations.json: per-layer output summaries on one fixture',
            'photos': photos,
        }
        with open(os.path.join(out, 'manifest.json'), 'w') as f:
            json.dump(manifest, f, indent=1)
            f.write('\n')
        total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(out) for n in ns)
        print(f'{len(photos)} photos -> {out} ({total / 1e6:.2f} MB)')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
