#!/usr/bin/python3
"""Export a full-size HF-style ViT-B/16@224 classifier graph with random weights, for benchmarks only.

    /usr/bin/python3 tools/gen_hf_vit_b16.py [--opset 13|17] [--out .cache/bench/hf_vit_b16_224_opset17.onnx]

The architecture of google/vit-base-patch16-224 as transformers' ViTForImageClassification exports
it (tools/fixture_archs.py HfVit): NCHW `pixel_values` [N,3,224,224], patch 16 -> 196 tokens + class
token, dim 768, 12 layers, 12 heads, MLP 3072 with erf GELU, LN eps 1e-12, `logits` [N,1000]. Its
attention carries the head Transposes that seer.Attention absorbs (Q/V perm [0,2,1,3], Kᵀ perm
[0,2,3,1], output perm [0,2,1,3]). About 86.6 M parameters (~346 MB). Dynamic batch. Weights are
PyTorch's default init with seed 0, never trained, never committed: the file goes to the git-ignored
.cache/bench/.
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
    ap.add_argument("--opset", type=int, default=17, choices=(13, 14, 15, 16, 17))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    out = args.out or os.path.join(ROOT, ".cache", "bench", f"hf_vit_b16_224_opset{args.opset}.onnx")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = A.HfVit(image_size=224, patch=16, dim=768, depth=12, heads=12, mlp=3072, classes=1000).eval()
    params = sum(p.numel() for p in model.parameters())
    t0 = time.time()
    x = torch.rand(1, 3, 224, 224) * 2 - 1
    torch.onnx.export(model, (x,), out, opset_version=args.opset, input_names=["pixel_values"],
                      output_names=["logits"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    print(f"{out}: {params / 1e6:.2f} M params, {os.path.getsize(out) / 1e6:.1f} MB, "
          f"exported in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
