#!/usr/bin/python3
"""Expected probabilities for the tiny HF ViT classifier on committed images.

  python3 tools/gen_classifier_fixtures.py     # writes tests/fixtures/classifier/vit-classifier-tiny.json

Chain, none of it seer's:
  Pillow preprocessing as HF ViTImageProcessor does it with the folder's preprocessor_config.json
  (Image.open().convert("RGB"), squash resize to size with PIL resample 2 = BILINEAR, x * 1/255,
  (x - 0.5) / 0.5, NCHW float32) ->
  ONNX Runtime (npm onnxruntime-node, tools/ort_run.js) on tests/fixtures/models/vit-classifier-tiny
  -> softmax over the logits in float64 (config.json problem_type single_label_classification).
Images: committed fixtures without EXIF orientation or alpha (so "seer applies the orientation"
and "HF keeps alpha" cannot differ), some larger and some smaller than 64, plus three of the
224x224 nsfwjs photo fixtures. Needs numpy, Pillow, node with tools/node_modules.
"""
import json
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_DIR = os.path.join(ROOT, "tests/fixtures/models/vit-classifier-tiny")
OUT = os.path.join(ROOT, "tests/fixtures/classifier/vit-classifier-tiny.json")

IMAGES = [  # relative to tests/fixtures/
    "images/exact_448x300.jpg", "images/odd_449x301.png", "images/gray.png", "images/lossy.webp",
    "images/large_900x700.jpg", "images/small_97x61.png", "images/upscale_200x301.jpg",
    "images/progressive.jpg", "nsfw/224/astronaut.png", "nsfw/224/chelsea.png",
    "nsfw/224/coffee.png",
]
PIL_RESAMPLE = {2: Image.BILINEAR, 3: Image.BICUBIC}


def preprocess(path, pre):
    img = Image.open(path).convert("RGB")
    size = pre["size"]
    w, h = (size, size) if isinstance(size, int) else (size["width"], size["height"])
    img = img.resize((w, h), PIL_RESAMPLE[pre.get("resample", 2)])
    x = np.asarray(img, dtype=np.float32) * np.float32(pre["rescale_factor"])
    x = (x - np.asarray(pre["image_mean"], dtype=np.float32)) / np.asarray(pre["image_std"], dtype=np.float32)
    return x.transpose(2, 0, 1).astype(np.float32)


def main():
    with open(os.path.join(MODEL_DIR, "preprocessor_config.json")) as f:
        pre = json.load(f)
    with open(os.path.join(MODEL_DIR, "config.json")) as f:
        config = json.load(f)
    labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    batch = np.stack([preprocess(os.path.join(ROOT, "tests/fixtures", n), pre) for n in IMAGES])
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "input.npy"), batch)
        subprocess.run(["node", os.path.join(ROOT, "tools/ort_run.js"), os.path.join(MODEL_DIR, "model.onnx"),
                        "--input", f"pixel_values={os.path.join(tmp, 'input.npy')}", "--output-dir", tmp],
                       check=True, stdout=subprocess.DEVNULL)
        logits = np.load(os.path.join(tmp, "logits.npy")).astype(np.float64)
    assert logits.shape == (len(IMAGES), len(labels)), logits.shape
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    out = {
        "generator": "tools/gen_classifier_fixtures.py",
        "model": "tests/fixtures/models/vit-classifier-tiny",
        "reference": "Pillow convert('RGB') + resize(BILINEAR) + HF rescale/normalize, onnxruntime-node, softmax (float64)",
        "labels": labels,
        "results": [{"image": n, "logits": [round(float(v), 9) for v in l],
                     "probabilities": [round(float(v), 9) for v in p]}
                    for n, l, p in zip(IMAGES, logits, probs)],
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"{len(IMAGES)} images -> {OUT}; max probability spread {float(np.ptp(probs[:, 0])):.3g}")


if __name__ == "__main__":
    main()
