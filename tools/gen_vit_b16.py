#!/usr/bin/python3
"""Export a full-size ViT-B/16 graph with random weights, for benchmarks only.

    /usr/bin/python3 tools/gen_vit_b16.py [--arch wd14|hf] [--opset 13..17] [--out FILE.onnx]

--arch wd14 (default): the WD14-v3 ViT-B/16@448, same architecture and I/O contract as
SmilingWolf/wd-vit-tagger-v3 (models.md §1.2/§1.3): input `input_1:0` float32 NHWC [N,448,448,3] BGR
0..255 (x/127.5-1 inside the graph), patch 16 -> 784 tokens, dim 768, 12 blocks, 12 heads, MLP 3072
with tanh GELU, LN eps 1e-5, no class token, final LN, mean pool, head 10861, sigmoid output `output`
[N,10861]. About 94.6 M parameters (~378 MB). Opset 13 (default) decomposes LayerNorm the way a
tf2onnx/JAX export does; --opset 17 emits LayerNormalization. Default file:
.cache/bench/wd14_vit_b16_448_opset<N>.onnx.

--arch hf: google/vit-base-patch16-224 as transformers' ViTForImageClassification exports it
(tools/fixture_archs.py HfVit): NCHW `pixel_values` [N,3,224,224], 196 tokens + class token, erf
GELU, LN eps 1e-12, `logits` [N,1000]; its attention carries the head Transposes that
seer.Attention absorbs. About 86.6 M parameters (~346 MB). Default opset 17, file
.cache/bench/hf_vit_b16_224_opset<N>.onnx.

Dynamic batch. Weights are PyTorch's default init with seed 0 — never trained, never committed: the
files go to the git-ignored .cache/bench/.
"""

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_archs as A  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ARCHS = {
    "wd14": dict(opset=13, file="wd14_vit_b16_448_opset{}.onnx", input="input_1:0", output="output",
                 make=lambda: A.Wd14Vit(image_size=448, patch=16, dim=768, depth=12, heads=12, mlp=3072,
                                        classes=10861),
                 example=lambda: torch.randint(0, 256, (1, 448, 448, 3)).float()),
    "hf": dict(opset=17, file="hf_vit_b16_224_opset{}.onnx", input="pixel_values", output="logits",
               make=lambda: A.HfVit(image_size=224, patch=16, dim=768, depth=12, heads=12, mlp=3072,
                                    classes=1000),
               example=lambda: torch.rand(1, 3, 224, 224) * 2 - 1),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="wd14", choices=sorted(ARCHS))
    ap.add_argument("--opset", type=int, default=None, choices=(13, 14, 15, 16, 17))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    arch = ARCHS[args.arch]
    opset = args.opset or arch["opset"]
    out = args.out or os.path.join(ROOT, ".cache", "bench", arch["file"].format(opset))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = arch["make"]().eval()
    params = sum(p.numel() for p in model.parameters())
    t0 = time.time()
    torch.onnx.export(model, (arch["example"](),), out, opset_version=opset, input_names=[arch["input"]],
                      output_names=[arch["output"]],
                      dynamic_axes={arch["input"]: {0: "batch"}, arch["output"]: {0: "batch"}},
                      do_constant_folding=True)
    print(f"{out}: {params / 1e6:.2f} M params, {os.path.getsize(out) / 1e6:.1f} MB, "
          f"exported in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
