#!/usr/bin/python3
"""Generate seer's small ONNX conformance fixtures with expected outputs from ONNX Runtime.

    /usr/bin/python3 tools/gen_models.py              # every model (about a minute on 2 cores)
    /usr/bin/python3 tools/gen_models.py --only eva02 --only tagger-tiny

Needs Debian's python3-torch (1.13), python3-onnx, python3-numpy, python3-pil (`make tools-deps`) and
`npm ci` in tools/ (onnxruntime-node, the oracle). Use /usr/bin/python3: a pyenv python3 on PATH may
lack the Debian modules.

For each architecture in fixture_archs.py it builds a random-weight model (fixed seed), exports it
with torch.onnx.export at opset 13 and 17 (dynamic batch axis, the exporter's natural output: no
simplification), writes a random input at batch 1 and 3, runs tools/ort_run.js (onnxruntime-node, CPU,
2 threads) on every (opset, batch) and stores the outputs as the expected .npy files, plus a
manifest.json that tools/check_onnx_models.py reads. It also makes two model folders that seer's model
families load as they are: tagger-tiny (WD14 v3 I/O contract + selected_tags.csv) and
vit-classifier-tiny (HF ViT classifier + config.json + preprocessor_config.json).

Outputs go to tests/fixtures/models/<name>/. PyTorch's own output is compared with ORT's as a sanity
check only; the expected files are ORT's.
"""

import argparse
import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_archs as A  # noqa: E402

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
OUT_ROOT = os.path.join(ROOT, "tests", "fixtures", "models")
OPSETS = (13, 17)
BATCHES = (1, 3)


def safe_name(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def ort_version():
    pkg = os.path.join(TOOLS, "node_modules", "onnxruntime-node", "package.json")
    with open(pkg) as f:
        return json.load(f)["version"]


def ort_run(model_path, feeds, out_dir):
    """Run tools/ort_run.js; returns {output name: np.ndarray}."""
    cmd = ["node", os.path.join(TOOLS, "ort_run.js"), model_path, "--output-dir", out_dir]
    for name, path in feeds.items():
        cmd += ["--input", f"{name}={path}"]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    outs = {}
    for line in res.stdout.splitlines():
        rec = json.loads(line)
        outs[rec["name"]] = np.load(rec["file"])
    return outs


def export(model, example, path, opset, input_name, output_name):
    torch.onnx.export(
        model, (example,), path, opset_version=opset,
        input_names=[input_name], output_names=[output_name],
        dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}},
        do_constant_folding=True)


def op_types(path):
    m = onnx.load(path)
    return sorted({n.op_type for n in m.graph.node})


def bf16_round(t):
    return t.to(torch.bfloat16).to(torch.float32)


def bf16_estimate(model, x):
    """Rough bf16 error estimate, as issue 4 defines seer's bf16: the inputs of every matmul-like op
    (Linear/Gemm, MatMul, Conv; weights and activations) rounded to bf16, fp32 accumulation and fp32
    elementwise. A guide for the tolerance, not a reference."""
    import torch.nn.functional as F
    saved = (F.linear, F.conv2d, torch.matmul, torch.Tensor.__matmul__)
    r = lambda t: bf16_round(t) if isinstance(t, torch.Tensor) and t.is_floating_point() else t
    F.linear = lambda input, weight, bias=None: saved[0](r(input), r(weight), bias)
    F.conv2d = lambda i, w, b=None, *a, **k: saved[1](r(i), r(w), b, *a, **k)
    torch.matmul = lambda a, b: saved[2](r(a), r(b))
    torch.Tensor.__matmul__ = lambda a, b: saved[3](r(a), r(b))
    try:
        with torch.no_grad():
            return model(x)
    finally:
        F.linear, F.conv2d, torch.matmul, torch.Tensor.__matmul__ = saved


# ---------------------------------------------------------------------------------------------
# Inputs


def wd_input(gen, batch, size):
    """NHWC BGR pixels 0..255 (integers, like a decoded image)."""
    return torch.randint(0, 256, (batch, size, size, 3), generator=gen).to(torch.float32)


def nchw_input(gen, batch, size):
    """NCHW values in [-1, 1], like HF/timm normalized pixels."""
    return torch.rand((batch, 3, size, size), generator=gen) * 2 - 1


# ---------------------------------------------------------------------------------------------
# Conformance models: (name, seed, factory, input maker, size, input name, output name, output kind)

SPECS = [
    dict(name="wd14_vit", head_scale=10.0, center_head=True, seed=1401, size=64, make_input=wd_input,
         factory=lambda: A.Wd14Vit(image_size=64, patch=16, dim=48, depth=2, heads=4, mlp=96, classes=24),
         input_name="input_1:0", output_name="predictions_sigmoid/Sigmoid:0", kind="probability",
         description="WD14-v3-style ViT: NHWC BGR 0..255 in, x/127.5-1 in the graph, patch 16 (16 tokens), "
                     "no class token, tanh GELU, LN eps 1e-5, MHA via MatMul/Softmax, mean pool, sigmoid out. "
                     "Odd tensor names (':' and '/') on purpose."),
    dict(name="hf_vit", seed=1402, size=32, make_input=nchw_input,
         factory=lambda: A.HfVit(image_size=32, patch=8, dim=48, depth=2, heads=3, mlp=96, classes=5),
         input_name="pixel_values", output_name="logits", kind="logits",
         description="HF ViTForImageClassification-style: NCHW pixel_values, class token via expand, separate "
                     "q/k/v, erf GELU, LN eps 1e-12, logits (no softmax)."),
    dict(name="convnext", head_scale=10.0, center_head=True, seed=1403, size=32, make_input=wd_input,
         factory=lambda: A.ConvNeXt(dims=(16, 32), depths=(2, 2), classes=12),
         input_name="input", output_name="output", kind="probability",
         description="ConvNeXt: NHWC BGR 0..255 in, 4x4 stem + channels LN via permutes, 7x7 depthwise conv, "
                     "Linear MLP with tanh GELU, layer scale, LN + 2x2 stride-2 downsample, mean -> LN -> head, sigmoid."),
    dict(name="swinv2", head_scale=10.0, center_head=True, seed=1404, size=32, make_input=wd_input,
         factory=lambda: A.SwinV2(image_size=32, patch=2, dim=16, depths=(2, 2), heads=(2, 4), ws=4, classes=12),
         input_name="input", output_name="output", kind="probability",
         description="SwinV2: NHWC BGR 0..255 in, patch 2 -> 16x16, window 4, shift 2 (torch.roll + constant mask), "
                     "cosine attention (F.normalize) with clamped logit scale, continuous position-bias MLP "
                     "(16*sigmoid, Gather by constant index), post-norm, patch merging, sigmoid out."),
    dict(name="eva02", head_scale=10.0, center_head=True, seed=1405, size=32, make_input=wd_input,
         factory=lambda: A.Eva02(image_size=32, patch=4, dim=32, depth=2, heads=2, classes=12),
         input_name="input", output_name="output", kind="probability",
         description="EVA02: NHWC BGR 0..255 in, class token + abs pos-emb, 2-D rotary on patch tokens "
                     "(interleaved: Slice step 2, Neg, stack), SwiGLU with inner LN, mean of patch tokens -> "
                     "fc_norm -> head, sigmoid."),
    dict(name="mobilenet", seed=1406, size=32, make_input=nchw_input,
         factory=lambda: A.MobileNetV2(classes=5),
         input_name="input", output_name="probabilities", kind="probability",
         description="MobileNetV2-style: NCHW, Conv+BN (folded by the exporter) + ReLU6 (Clip), inverted "
                     "residuals with depthwise 3x3, GlobalAveragePool, Flatten, BatchNorm1d "
                     "(BatchNormalization), Gemm, softmax."),
    dict(name="nhwc_convnet", head_scale=10.0, center_head=True, seed=1407, size=32, make_input=wd_input,
         factory=lambda: A.NhwcConvNet(classes=6),
         input_name="input_1", output_name="predictions", kind="probability",
         description="Keras/tf2onnx-style NHWC convnet: each Conv wrapped in Transpose(0,3,1,2)/(0,2,3,1); pairs "
                     "that cancel around Relu and Clip and back to back, a residual Add that keeps its pair, "
                     "depthwise conv, mean over H,W, sigmoid."),
]


def write_manifest(out_dir, manifest):
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")


def build_cases(out_dir, models, inputs, input_name, output_name, tmp, torch_model=None):
    """models: {opset: file}; inputs: {batch: file}. Runs ORT, writes expected files, returns cases."""
    cases = []
    for opset, model_file in models.items():
        for batch, in_file in inputs.items():
            run_dir = os.path.join(tmp, f"o{opset}_b{batch}")
            outs = ort_run(os.path.join(out_dir, model_file), {input_name: os.path.join(out_dir, in_file)},
                           run_dir)
            y = outs[output_name].astype(np.float32)
            exp_file = f"expected_opset{opset}_b{batch}_{safe_name(output_name)}.npy"
            np.save(os.path.join(out_dir, exp_file), y)
            case = dict(model=model_file, opset=opset, batch=batch, inputs={input_name: in_file},
                        expected={output_name: exp_file})
            if torch_model is not None:
                x = torch.from_numpy(np.load(os.path.join(out_dir, in_file)))
                with torch.no_grad():
                    yt = torch_model(x).numpy()
                d = float(np.abs(yt - y).max())
                case["torch_vs_ort_max_abs"] = d
                if d > 1e-4:
                    raise RuntimeError(f"{out_dir} opset {opset} batch {batch}: torch vs ORT differ by {d}")
            cases.append(case)
    return cases


def build_model(spec):
    """The conformance model of a SPECS entry, deterministic, in eval mode (also used by
    tools/fixture_sensitivity.py)."""
    torch.manual_seed(spec["seed"])
    model = spec["factory"]()
    A.randomize_batchnorm(model)
    cal_gen = torch.Generator().manual_seed(spec["seed"] + 3)
    A.calibrate_batchnorm(model, lambda: spec["make_input"](cal_gen, 16, spec["size"]))
    model.eval()
    # Spread the outputs (default init leaves every logit near 0, every sigmoid near 0.5) so that
    # a wrong kernel moves them measurably: scale the last Linear.
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        # Push the MLP pre-activations to |x| ~ 1..3, where the erf and tanh GELU forms differ
        # most (~5e-4), and amplify what the MLPs add, so that using the wrong GELU form fails the
        # 1e-4 bound (checked: wd14_vit moves by 2.3e-4, hf_vit by 8e-4).
        for mname, mod in model.named_modules():
            if isinstance(mod, nn.Linear) and mname.endswith(("fc1", "intermediate", "fc2", "out")):
                mod.weight.mul_(3.0)
        head.weight.mul_(spec.get("head_scale", 3.0))
        if spec.get("center_head"):
            # Centre each logit over other random inputs, so that the scaled sigmoid outputs
            # spread over (0, 1) instead of saturating.
            cal = spec["make_input"](torch.Generator().manual_seed(spec["seed"] + 5), 16, spec["size"])
            feats = []
            hook = head.register_forward_hook(lambda _m, _i, o: feats.append(o))
            model(cal)
            hook.remove()
            head.bias.sub_(feats[0].mean(0))
    return model


def gen_conformance(spec, tmp):
    name = spec["name"]
    out_dir = os.path.join(OUT_ROOT, name)
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    model = build_model(spec)
    gen = torch.Generator().manual_seed(spec["seed"] + 7)
    inputs = {}
    for b in BATCHES:
        x = spec["make_input"](gen, b, spec["size"])
        inputs[b] = f"input_b{b}.npy"
        np.save(os.path.join(out_dir, inputs[b]), x.numpy())
    models, ops = {}, {}
    for opset in OPSETS:
        f = f"model_opset{opset}.onnx"
        export(model, spec["make_input"](torch.Generator().manual_seed(0), 2, spec["size"]),
               os.path.join(out_dir, f), opset, spec["input_name"], spec["output_name"])
        onnx.checker.check_model(onnx.load(os.path.join(out_dir, f)))
        models[opset] = f
        ops[str(opset)] = op_types(os.path.join(out_dir, f))
    cases = build_cases(out_dir, models, inputs, spec["input_name"], spec["output_name"], tmp, model)
    x3 = torch.from_numpy(np.load(os.path.join(out_dir, inputs[3])))
    with torch.no_grad():
        ref = model(x3)
    bf = float((bf16_estimate(model, x3) - ref).abs().max())
    manifest = dict(
        name=name, description=spec["description"], generator="tools/gen_models.py",
        oracle=f"onnxruntime-node {ort_version()} (CPU, 2 threads, default graph optimizations)",
        torch=torch.__version__, seed=spec["seed"],
        params=sum(p.numel() for p in model.parameters()),
        inputs=[dict(name=spec["input_name"], shape=list(np.load(os.path.join(out_dir, inputs[1])).shape[1:]),
                     dtype="float32", batch_axis=0)],
        outputs=[dict(name=spec["output_name"], file_name=safe_name(spec["output_name"]) + ".npy",
                      kind=spec["kind"])],
        bf16_estimate_max_abs=bf, op_types=ops, cases=cases)
    write_manifest(out_dir, manifest)
    return manifest


# ---------------------------------------------------------------------------------------------
# tagger-tiny: a WD14 v3 model folder (model.onnx + selected_tags.csv)

RATINGS = [("9999999", "general", 1589178), ("9999998", "sensitive", 3994361),
           ("9999997", "questionable", 892496), ("9999996", "explicit", 706509)]
GENERAL = ["1girl", "solo", "long_hair", "smile", "open_mouth", "blue_eyes", "looking_at_viewer",
           "^_^", ">_<", "0_0", "o_o", "x_x", "@_@", "=_=", "u_u", "._.", "+_+", ">_o", "|_|",
           "<o>_<o>", "<|>_<|>", "(o)_(o)", ":d", "\\m/", "\\o/", "\\||/", "double_\\m/",
           'don\'t_say_"lazy"', "comma,_in_name", "\"quoted\"_tag", "lying_(position)", "star_(symbol)",
           "hat", "a"]
CHARACTER = ["hatsune_miku", "hatsune_miku_(cosplay)", "kaname_madoka", "artoria_pendragon_(fate)",
             "remilia_scarlet", "hakurei_reimu", "kirisame_marisa", "saber_(fate),_alter", "rem_(re:zero)",
             "asuka_langley_soryu", "yoshika_(\\o/)", "c.c.", "2b_(nier:automata)", "rei_\"ayanami\"",
             "frieren", "megumin"]


def tags_csv():
    rows = [("tag_id", "name", "category", "count")]
    for tid, name, cnt in RATINGS:
        rows.append((tid, name, "9", str(cnt)))
    gen = np.random.RandomState(6)
    counts = sorted(gen.randint(600, 5_000_000, len(GENERAL) + len(CHARACTER)).tolist(), reverse=True)
    for i, name in enumerate(GENERAL):
        rows.append((str(470575 + i), name, "0", str(counts[i])))
    for i, name in enumerate(CHARACTER):
        rows.append((str(1200000 + i), name, "4", str(counts[len(GENERAL) + i])))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")  # QUOTE_MINIMAL: quotes names with , or " (doubled)
    w.writerows(rows)
    return buf.getvalue()


def calibration_images(size, n=48, seed=11):
    """Synthetic 'photos' (gradients, shapes, noise, flat colours) preprocessed like the Space
    (RGB -> BGR float 0..255, already at the model size): used only to place the head's logits."""
    rng = np.random.RandomState(seed)
    imgs = []
    for i in range(n):
        w, h = size * 4, size * 3
        base = rng.randint(0, 256, 3)
        im = Image.new("RGB", (w, h), tuple(int(v) for v in base))
        d = ImageDraw.Draw(im)
        for _ in range(rng.randint(0, 12)):
            x0, y0 = rng.randint(0, w), rng.randint(0, h)
            box = (x0, y0, x0 + rng.randint(5, w), y0 + rng.randint(5, h))
            col = tuple(int(v) for v in rng.randint(0, 256, 3))
            (d.ellipse if rng.rand() < 0.5 else d.rectangle)(box, fill=col)
        a = np.asarray(im, dtype=np.float32)
        if i % 3 == 0:
            a = np.clip(a + rng.normal(0, 40, a.shape), 0, 255)
        # pad to square with white, then bicubic resize (Space preprocessing)
        side = max(w, h)
        sq = Image.new("RGB", (side, side), (255, 255, 255))
        sq.paste(Image.fromarray(a.astype(np.uint8)), ((side - w) // 2, (side - h) // 2))
        sq = sq.resize((size, size), Image.BICUBIC)
        imgs.append(np.asarray(sq, dtype=np.float32)[:, :, ::-1])
    return torch.from_numpy(np.ascontiguousarray(np.stack(imgs)))


def gen_tagger_tiny(tmp):
    name, size, seed = "tagger-tiny", 64, 2401
    out_dir = os.path.join(OUT_ROOT, name)
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    classes = len(RATINGS) + len(GENERAL) + len(CHARACTER)
    torch.manual_seed(seed)
    model = A.Wd14Vit(image_size=size, patch=16, dim=48, depth=2, heads=4, mlp=96, classes=classes).eval()
    # Place the head's logits so that thresholds are exercised on image-like input: each class's
    # logit is standardized over the calibration set, then scaled by a and shifted by b.
    cal = calibration_images(size)
    with torch.no_grad():
        f = model.features(cal)  # [n, dim]
        w = model.head.weight.clone()
        raw = f @ w.t()
        mean, std = raw.mean(0), raw.std(0) + 1e-6
        rng = np.random.RandomState(seed)
        nr, ng, nc = len(RATINGS), len(GENERAL), len(CHARACTER)
        a = np.concatenate([np.full(nr, 1.5), np.full(ng, 1.5), np.full(nc, 1.0)])
        b = np.concatenate([
            [0.5, -0.3, -1.5, -2.5],                         # ratings: varied, general most likely
            np.linspace(1.8, -3.0, ng) + rng.normal(0, 0.3, ng),  # general: from mostly-on to rare
            np.r_[[2.6, 2.2, 1.9, 1.6], np.linspace(0.5, -4.0, nc - 4)],  # some characters above 0.85
        ])
        a, b = torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)
        model.head.weight.copy_(w * (a / std)[:, None])
        model.head.bias.copy_(b - a * mean / std)
        p = model(cal)
    stats = dict(
        calibration_images=int(cal.shape[0]),
        general_above_0_35_per_image=float((p[:, nr:nr + ng] > 0.35).sum(1).float().mean()),
        character_above_0_85_per_image=float((p[:, nr + ng:] > 0.85).sum(1).float().mean()),
        images_with_a_character_above_0_85=int(((p[:, nr + ng:] > 0.85).sum(1) > 0).sum()))
    with open(os.path.join(out_dir, "selected_tags.csv"), "w", newline="") as fcsv:
        fcsv.write(tags_csv())
    input_name, output_name, opset = "input_1:0", "output", 13
    export(model, cal[:2], os.path.join(out_dir, "model.onnx"), opset, input_name, output_name)
    gen = torch.Generator().manual_seed(seed + 7)
    inputs = {}
    for bsz in BATCHES:
        # batch 1: a calibration-like image; batch 3: two images + random pixels
        x = cal[:bsz].clone() if bsz == 1 else torch.cat([cal[5:7], wd_input(gen, 1, size)])
        inputs[bsz] = f"input_b{bsz}.npy"
        np.save(os.path.join(out_dir, inputs[bsz]), x.numpy())
    cases = build_cases(out_dir, {opset: "model.onnx"}, inputs, input_name, output_name, tmp, model)
    manifest = dict(
        name=name,
        description="WD14 v3 model folder for seer's tagger family: NHWC [N,64,64,3] BGR 0..255 (size read "
                    "from the graph), sigmoid probabilities out, selected_tags.csv with quoted names, "
                    "kaomoji, backslashes and parentheses. Head calibrated so that general tags cross 0.35 "
                    "and some characters cross 0.85 on image-like input.",
        generator="tools/gen_models.py", oracle=f"onnxruntime-node {ort_version()} (CPU, 2 threads)",
        torch=torch.__version__, seed=seed, params=sum(q.numel() for q in model.parameters()),
        inputs=[dict(name=input_name, shape=[size, size, 3], dtype="float32", batch_axis=0)],
        outputs=[dict(name=output_name, file_name="output.npy", kind="probability")],
        tags=dict(rating=len(RATINGS), general=len(GENERAL), character=len(CHARACTER)),
        calibration=stats, op_types={str(opset): op_types(os.path.join(out_dir, "model.onnx"))}, cases=cases)
    write_manifest(out_dir, manifest)
    return manifest


# ---------------------------------------------------------------------------------------------
# vit-classifier-tiny: an HF ViT image-classification folder (Falconsai-style, 224, 2 labels)


def gen_vit_classifier_tiny(tmp):
    name, size, seed = "vit-classifier-tiny", 64, 2402
    out_dir = os.path.join(OUT_ROOT, name)
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    labels = ["normal", "nsfw"]
    cfg = dict(patch=8, dim=32, depth=2, heads=2, mlp=64)
    torch.manual_seed(seed)
    model = A.HfVit(image_size=size, patch=cfg["patch"], dim=cfg["dim"], depth=cfg["depth"],
                    heads=cfg["heads"], mlp=cfg["mlp"], classes=len(labels)).eval()
    with torch.no_grad():  # logits of a useful size, so the softmax is not always ~0.5/0.5
        model.classifier.weight.mul_(4.0)
    input_name, output_name, opset = "pixel_values", "logits", 17
    export(model, nchw_input(torch.Generator().manual_seed(0), 2, size), os.path.join(out_dir, "model.onnx"),
           opset, input_name, output_name)
    config = {
        "_name_or_path": "seer/vit-classifier-tiny",
        "architectures": ["ViTForImageClassification"],
        "attention_probs_dropout_prob": 0.0,
        "encoder_stride": cfg["patch"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "hidden_size": cfg["dim"],
        "id2label": {str(i): l for i, l in enumerate(labels)},
        "image_size": size,
        "initializer_range": 0.02,
        "intermediate_size": cfg["mlp"],
        "label2id": {l: i for i, l in enumerate(labels)},
        "layer_norm_eps": 1e-12,
        "model_type": "vit",
        "num_attention_heads": cfg["heads"],
        "num_channels": 3,
        "num_hidden_layers": cfg["depth"],
        "patch_size": cfg["patch"],
        "problem_type": "single_label_classification",
        "qkv_bias": True,
        "torch_dtype": "float32",
        "transformers_version": "4.31.0",
    }
    pre = {
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "ViTImageProcessor",
        "image_std": [0.5, 0.5, 0.5],
        "resample": 2,
        "rescale_factor": 0.00392156862745098,
        "size": {"height": size, "width": size},
    }
    for fname, obj in (("config.json", config), ("preprocessor_config.json", pre)):
        with open(os.path.join(out_dir, fname), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    gen = torch.Generator().manual_seed(seed + 7)
    inputs = {}
    for bsz in BATCHES:
        inputs[bsz] = f"input_b{bsz}.npy"
        np.save(os.path.join(out_dir, inputs[bsz]), nchw_input(gen, bsz, size).numpy())
    cases = build_cases(out_dir, {opset: "model.onnx"}, inputs, input_name, output_name, tmp, model)
    manifest = dict(
        name=name,
        description="HF ViT image classifier folder (Falconsai/nsfw_image_detection layout, tiny): NCHW "
                    "pixel_values [N,3,64,64] (RGB, /255, mean=std=0.5, PIL bilinear squash resize), "
                    "logits [N,2] (softmax is the caller's), id2label normal/nsfw.",
        generator="tools/gen_models.py", oracle=f"onnxruntime-node {ort_version()} (CPU, 2 threads)",
        torch=torch.__version__, seed=seed, params=sum(q.numel() for q in model.parameters()),
        inputs=[dict(name=input_name, shape=[3, size, size], dtype="float32", batch_axis=0)],
        outputs=[dict(name=output_name, file_name="logits.npy", kind="logits")],
        op_types={str(opset): op_types(os.path.join(out_dir, "model.onnx"))}, cases=cases)
    write_manifest(out_dir, manifest)
    return manifest


# ---------------------------------------------------------------------------------------------
# wd14_vit_fixed_batch: the wd14_vit model exported without a dynamic axis, so the exporter bakes
# batch 1 into every Reshape (as the v2.0 WD14 files have it, onnx-exports.md). issue 4: seer runs a
# larger batch as a loop; the batch-3 expectation is ORT run image by image.


def gen_fixed_batch(tmp):
    name = "wd14_vit_fixed_batch"
    spec = next(s for s in SPECS if s["name"] == "wd14_vit")
    src = os.path.join(OUT_ROOT, "wd14_vit")
    if not os.path.isfile(os.path.join(src, "input_b3.npy")):
        raise RuntimeError("generate wd14_vit first (its inputs are shared)")
    out_dir = os.path.join(OUT_ROOT, name)
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    model = build_model(spec)
    in_name, out_name, opset = spec["input_name"], spec["output_name"], 13
    torch.onnx.export(model, (spec["make_input"](torch.Generator().manual_seed(0), 1, spec["size"]),),
                      os.path.join(out_dir, "model_opset13.onnx"), opset_version=opset,
                      input_names=[in_name], output_names=[out_name], do_constant_folding=True)
    mfile = os.path.join(out_dir, "model_opset13.onnx")
    cases = []
    for b in BATCHES:
        in_rel = f"../wd14_vit/input_b{b}.npy"
        x = np.load(os.path.join(src, f"input_b{b}.npy"))
        ys = []
        for i in range(b):  # one image at a time: the graph only takes batch 1
            one = os.path.join(tmp, f"fixed_{b}_{i}.npy")
            np.save(one, x[i:i + 1])
            ys.append(ort_run(mfile, {in_name: one}, os.path.join(tmp, f"fixed_out_{b}_{i}"))[out_name])
        y = np.concatenate(ys).astype(np.float32)
        exp = f"expected_opset13_b{b}_{safe_name(out_name)}.npy"
        np.save(os.path.join(out_dir, exp), y)
        with torch.no_grad():
            d = float(np.abs(model(torch.from_numpy(x)).numpy() - y).max())
        if d > 1e-4:
            raise RuntimeError(f"{name} batch {b}: torch vs ORT differ by {d}")
        cases.append(dict(model="model_opset13.onnx", opset=opset, batch=b, inputs={in_name: in_rel},
                          expected={out_name: exp}, torch_vs_ort_max_abs=d,
                          **({"loop_over_batch": True} if b > 1 else {})))
    m = onnx.load(mfile)
    dims = [d.dim_value or d.dim_param for d in m.graph.input[0].type.tensor_type.shape.dim]
    manifest = dict(
        name=name,
        description="wd14_vit (same weights) exported with a static batch of 1: the 1 is baked into the "
                    "Reshapes (v2.0 WD14 style). Batch 3 must run as a loop of batch 1 (issue 4); its "
                    "expected output is ORT run image by image. Inputs are wd14_vit's.",
        generator="tools/gen_models.py", oracle=f"onnxruntime-node {ort_version()} (CPU, 2 threads)",
        torch=torch.__version__, seed=spec["seed"], params=sum(q.numel() for q in model.parameters()),
        inputs=[dict(name=in_name, shape=dims[1:], dtype="float32", batch_axis=0, fixed_batch=dims[0])],
        outputs=[dict(name=out_name, file_name=safe_name(out_name) + ".npy", kind="probability")],
        op_types={"13": op_types(mfile)}, cases=cases)
    write_manifest(out_dir, manifest)
    return manifest


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", help="model name (repeatable); default: all")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if not os.path.isdir(os.path.join(TOOLS, "node_modules", "onnxruntime-node")):
        sys.exit("gen_models: run `npm ci` in tools/ first (onnxruntime-node is the oracle)")
    names = [s["name"] for s in SPECS] + ["wd14_vit_fixed_batch", "tagger-tiny", "vit-classifier-tiny"]
    wanted = args.only or names
    for w in wanted:
        if w not in names:
            sys.exit(f"gen_models: unknown model {w}; known: {', '.join(names)}")
    with tempfile.TemporaryDirectory() as tmp:
        for w in wanted:
            if w == "wd14_vit_fixed_batch":
                m = gen_fixed_batch(tmp)
            elif w == "tagger-tiny":
                m = gen_tagger_tiny(tmp)
            elif w == "vit-classifier-tiny":
                m = gen_vit_classifier_tiny(tmp)
            else:
                m = gen_conformance(next(s for s in SPECS if s["name"] == w), tmp)
            out_dir = os.path.join(OUT_ROOT, w)
            size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
            worst = max(c.get("torch_vs_ort_max_abs", 0) for c in m["cases"])
            print(f"{w}: {m['params']} params, {size / 1024:.0f} KiB on disk, torch-vs-ORT max abs {worst:.2e}"
                  + (f", bf16 estimate {m['bf16_estimate_max_abs']:.2e}" if "bf16_estimate_max_abs" in m else ""))
            for opset, ops in m["op_types"].items():
                print(f"  opset {opset}: {' '.join(ops)}")
            if "calibration" in m:
                print(f"  calibration: {m['calibration']}")


if __name__ == "__main__":
    main()
