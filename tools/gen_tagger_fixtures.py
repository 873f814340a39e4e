#!/usr/bin/python3
"""Expected `seer tag --jsonl` records for the tiny tagger on committed images.

  /usr/bin/python3 tools/gen_tagger_fixtures.py     # writes tests/fixtures/tagger/e2e/

Chain, none of it seer's:
  Pillow preprocessing as the SmilingWolf Space's `prepare_image` (models.md §1.4: RGBA,
  alpha_composite over white, pad to a white square, BICUBIC to the model's input size, BGR,
  float32 NHWC 0..255), after `ImageOps.exif_transpose` (seer applies EXIF orientation by
  default; the Space does not say) ->
  ONNX Runtime (npm onnxruntime-node, tools/ort_run.js) on tests/fixtures/models/tagger-tiny ->
  tools/wd14_reference.py post-processing (Space semantics) -> expected.jsonl.
The image set and their order are in images.txt (paths relative to tests/fixtures/images/).
Needs numpy, Pillow, node with tools/node_modules.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageOps

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import wd14_reference as ref  # noqa: E402

MODEL_DIR = os.path.join(ROOT, "tests/fixtures/models/tagger-tiny")
IMAGES_DIR = os.path.join(ROOT, "tests/fixtures/images")
OUT_DIR = os.path.join(ROOT, "tests/fixtures/tagger/e2e")

IMAGES = [
    "exact_448x300.jpg", "odd_449x301.png", "palette_alpha.png", "gray.png", "lossy.webp",
    "lossless_alpha.webp", "orient_6.jpg", "cmyk.jpg", "palette.gif", "rgb.tiff",
    "large_900x700.jpg", "progressive.jpg",
]
INPUT_NAME = "input_1:0"


def prepare_image(image, target_size):
    """The Space's Predictor.prepare_image, with the image opened as Gradio gives it (RGBA)."""
    image = ImageOps.exif_transpose(image).convert("RGBA")
    canvas = Image.new("RGBA", image.size, (255, 255, 255))
    canvas.alpha_composite(image)
    image = canvas.convert("RGB")
    max_dim = max(image.size)
    pad_left = (max_dim - image.size[0]) // 2
    pad_top = (max_dim - image.size[1]) // 2
    padded = Image.new("RGB", (max_dim, max_dim), (255, 255, 255))
    padded.paste(image, (pad_left, pad_top))
    if max_dim != target_size:
        padded = padded.resize((target_size, target_size), Image.BICUBIC)
    arr = np.asarray(padded, dtype=np.float32)
    return arr[:, :, ::-1]


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(MODEL_DIR, "manifest.json")) as f:
        size = json.load(f)["inputs"][0]["shape"][0]
    batch = np.stack([prepare_image(Image.open(os.path.join(IMAGES_DIR, n)), size)
                      for n in IMAGES]).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "input.npy"), batch)
        subprocess.run(["node", os.path.join(ROOT, "tools/ort_run.js"),
                        os.path.join(MODEL_DIR, "model.onnx"),
                        "--input", f"{INPUT_NAME}={os.path.join(tmp, 'input.npy')}",
                        "--output-dir", tmp], check=True, stdout=subprocess.DEVNULL)
        probs = np.load(os.path.join(tmp, "output.npy")).astype(np.float32)
    with open(os.path.join(MODEL_DIR, "selected_tags.csv"), newline="") as f:
        labels = ref.load_labels(f.read())
    assert probs.shape == (len(IMAGES), len(labels.raw_names)), probs.shape
    np.save(os.path.join(OUT_DIR, "ort_probs.npy"), probs)
    with open(os.path.join(OUT_DIR, "images.txt"), "w") as f:
        f.write("\n".join(IMAGES) + "\n")
    # Options the test runs with: the Space defaults, and a second set with every extra.
    option_sets = {
        "default": {},
        "extras": {"general_mcut": True, "character_mcut": True, "characters_in_text": "first",
                   "rating_in_text": "first", "exclude": ["1girl", "hat"]},
    }
    for name, opts in option_sets.items():
        with open(os.path.join(OUT_DIR, f"expected_{name}.jsonl"), "w") as f:
            for img, row in zip(IMAGES, probs):
                rec = ref.jsonl_record(img, ref.predict(row, labels, opts))
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    with open(os.path.join(OUT_DIR, "options.json"), "w") as f:
        json.dump({k: dict(ref.DEFAULT_OPTIONS, **v) for k, v in option_sets.items()}, f, indent=1)
    # How close to a threshold the ORT scores come (the test tolerates flips only that close).
    margin = min(float(np.min(np.abs(probs.astype(np.float64) - t))) for t in (0.35, 0.85))
    print(f"{len(IMAGES)} images, {probs.shape[1]} classes, closest score to a threshold: "
          f"{margin:.3g}", file=sys.stderr)


if __name__ == "__main__":
    main()
