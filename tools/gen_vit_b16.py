#!/usr/bin/python3
"""Export the full-size WD14-v3 ViT-B/16@448 graph with random weights, for benchmarks only.

    /usr/bin/python3 tools/gen_vit_b16.py [--opset 13|17] [--out .cache/bench/wd14_vit_b16_448_opset13.onnx]

Same architecture and I/O contract as SmilingWolf/wd-vit-tagger-v3 (models.md §1.2/§1.3): input
`input_1:0` float32 NHWC [N,448,448,3] BGR 0..255 (x/127.5-1 inside the graph), patch 16 -> 784
tokens, dim 768, 12 blocks, 12 heads, MLP 3072 with tanh GELU, LN eps 1e-5, no class token, final LN,
mean pool, head 10861, sigmoid output `output` [N,10861]. About 94.6 M parameters (~378 MB file).
Dynamic batch. Weights are PyTorch's default init with seed 0 — never trained, never committed: the
file goes to the git-ignored .cache/bench/. Opset 13 (default) decomposes LayerNorm the way a
tf2onnx/JAX export does; --opset 17 emits LayerNormalization.
"""

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_archs as A  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--opset", type=int, default=13, choices=(13, 14, 15, 16, 17))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    out = args.out or os.path.join(ROOT, ".cache", "bench", f"wd14_vit_b16_448_opset{args.opset}.onnx")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = A.Wd14Vit(image_size=448, patch=16, dim=768, depth=12, heads=12, mlp=3072, classes=10861).eval()
    params = sum(p.numel() for p in model.parameters())
    t0 = time.time()
    x = torch.randint(0, 256, (1, 448, 448, 3)).float()
    torch.onnx.export(model, (x,), out, opset_version=args.opset, input_names=["input_1:0"],
                      output_names=["output"],
                      dynamic_axes={"input_1:0": {0: "batch"}, "output": {0: "batch"}},
                      do_constant_folding=True)
    print(f"{out}: {params / 1e6:.2f} M params, {os.path.getsize(out) / 1e6:.1f} MB, "
          f"exported in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
