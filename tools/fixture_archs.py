"""Tiny PyTorch versions of the architectures seer must run, written the way timm / HF write them.

    from fixture_archs import Wd14Vit
    model = Wd14Vit(image_size=64, patch=16, dim=64, depth=2, heads=4, mlp=128, classes=10).eval()

Used only by tools/gen_models.py and tools/gen_vit_b16.py to make ONNX fixtures with torch.onnx.export
(Debian's python3-torch 1.13). Each class keeps the op pattern of the real model (what the exporter
emits is what seer must handle), not its size. No weights are trained; seeds make them deterministic.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------
# Shared pieces


class WdInput(nn.Module):
    """WD14 ONNX input contract (models.md §1.3): NHWC float BGR 0..255 in; the [-1, 1] scaling
    (Keras inception_scaling / JAX-CV `x / 127.5 - 1`) is inside the graph; returns NCHW."""

    def forward(self, x):
        x = x / 127.5 - 1.0
        return x.permute(0, 3, 1, 2)


class Attention(nn.Module):
    """Multi-head self-attention as timm's ViT writes it: fused qkv Linear, MatMul, scale, Softmax."""

    def __init__(self, dim, heads, qkv_bias=True):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden, approximate="none"):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.approximate = approximate

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate=self.approximate))


class VitBlock(nn.Module):
    """Pre-norm transformer block (timm Block)."""

    def __init__(self, dim, heads, mlp, eps, approximate):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, mlp, approximate)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


# ---------------------------------------------------------------------------------------------
# WD14 v3 ViT (JAX-CV ViT / timm vit_base_patch16 with class_token=False, global_pool=avg,
# act gelu_tanh, LN eps 1e-5): NHWC BGR 0..255 -> sigmoid probabilities.


class Wd14Vit(nn.Module):
    def __init__(self, image_size, patch, dim, depth, heads, mlp, classes, eps=1e-5):
        super().__init__()
        self.input = WdInput()
        self.patch_embed = nn.Conv2d(3, dim, patch, stride=patch)
        tokens = (image_size // patch) ** 2
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.blocks = nn.Sequential(*[VitBlock(dim, heads, mlp, eps, "tanh") for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.head = nn.Linear(dim, classes)

    def features(self, x):
        x = self.patch_embed(self.input(x)).flatten(2).transpose(1, 2)
        x = self.blocks(x + self.pos_embed)
        return self.norm(x).mean(dim=1)

    def forward(self, x):
        return torch.sigmoid(self.head(self.features(x)))


# ---------------------------------------------------------------------------------------------
# HF ViTForImageClassification: NCHW pixel_values, class token, exact (erf) GELU, LN eps 1e-12,
# separate q/k/v Linears, logits (no softmax).


class HfSelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.output = nn.Linear(dim, dim)

    def split(self, x):
        shape = x.size()[:-1] + (self.heads, self.head_dim)
        return x.view(shape).permute(0, 2, 1, 3)

    def forward(self, x):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        probs = nn.functional.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        ctx = ctx.view(ctx.size()[:-2] + (self.heads * self.head_dim,))
        return self.output(ctx)


class HfLayer(nn.Module):
    def __init__(self, dim, heads, mlp, eps):
        super().__init__()
        self.layernorm_before = nn.LayerNorm(dim, eps=eps)
        self.attention = HfSelfAttention(dim, heads)
        self.layernorm_after = nn.LayerNorm(dim, eps=eps)
        self.intermediate = nn.Linear(dim, mlp)
        self.out = nn.Linear(mlp, dim)

    def forward(self, x):
        x = x + self.attention(self.layernorm_before(x))
        return x + self.out(F.gelu(self.intermediate(self.layernorm_after(x))))


class HfVit(nn.Module):
    def __init__(self, image_size, patch, dim, depth, heads, mlp, classes, eps=1e-12):
        super().__init__()
        self.projection = nn.Conv2d(3, dim, patch, stride=patch)
        tokens = (image_size // patch) ** 2
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.position_embeddings = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        self.layers = nn.Sequential(*[HfLayer(dim, heads, mlp, eps) for _ in range(depth)])
        self.layernorm = nn.LayerNorm(dim, eps=eps)
        self.classifier = nn.Linear(dim, classes)

    def forward(self, pixel_values):
        b = pixel_values.shape[0]
        x = self.projection(pixel_values).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(b, -1, -1)  # -> ConstantOfShape/Equal/Where/Expand
        x = torch.cat((cls, x), dim=1) + self.position_embeddings
        x = self.layernorm(self.layers(x))
        return self.classifier(x[:, 0, :])


# ---------------------------------------------------------------------------------------------
# ConvNeXt (timm / JAX-CV): 7x7 depthwise conv, channels-last LayerNorm via permutes, Linear MLP
# with GELU, layer scale; downsample = LN + 2x2 stride-2 conv; head = mean -> LN -> Linear.


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor, through permutes (timm LayerNorm2d)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim, approximate, ls_init=0.5):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(ls_init * (1 + 0.5 * torch.randn(dim)))
        self.approximate = approximate

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x).permute(0, 2, 3, 1)
        x = self.fc2(F.gelu(self.fc1(self.norm(x)), approximate=self.approximate))
        x = x * self.gamma
        return shortcut + x.permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    def __init__(self, dims=(16, 32), depths=(2, 2), classes=12, approximate="tanh"):
        super().__init__()
        self.input = WdInput()
        self.stem = nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4), LayerNorm2d(dims[0], eps=1e-6))
        stages = []
        for i, (d, n) in enumerate(zip(dims, depths)):
            layers = []
            if i > 0:
                layers += [LayerNorm2d(dims[i - 1], eps=1e-6), nn.Conv2d(dims[i - 1], d, 2, stride=2)]
            layers += [ConvNeXtBlock(d, approximate) for _ in range(n)]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.head = nn.Linear(dims[-1], classes)

    def forward(self, x):
        x = self.stages(self.stem(self.input(x)))
        x = self.norm(x.mean(dim=(2, 3)))
        return torch.sigmoid(self.head(x))


# ---------------------------------------------------------------------------------------------
# SwinV2 (timm swin_transformer_v2): NHWC activations, post-norm blocks, cosine attention with a
# clamped logit scale, continuous position bias MLP (16*sigmoid), shifted windows with torch.roll
# and a constant attention mask, patch merging (reshape/permute + Linear + LN).


def window_partition(x, ws):
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)


def window_reverse(windows, ws, h, w):
    c = windows.shape[-1]
    x = windows.view(-1, h // ws, w // ws, ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, h, w, c)


class WindowAttentionV2(nn.Module):
    def __init__(self, dim, ws, heads, cpb_hidden=64):
        super().__init__()
        self.ws, self.heads = ws, heads
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))) + 0.3 * torch.randn(heads, 1, 1))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, cpb_hidden, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(cpb_hidden, heads, bias=False))
        rh = torch.arange(-(ws - 1), ws, dtype=torch.float32)
        table = torch.stack(torch.meshgrid([rh, rh], indexing="ij")).permute(1, 2, 0).contiguous().unsqueeze(0)
        table /= ws - 1
        table *= 8
        table = torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / math.log2(8)
        self.register_buffer("relative_coords_table", table, persistent=False)
        coords = torch.stack(torch.meshgrid([torch.arange(ws), torch.arange(ws)], indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += ws - 1
        rel[:, :, 1] += ws - 1
        rel[:, :, 0] *= 2 * ws - 1
        self.register_buffer("relative_position_index", rel.sum(-1), persistent=False)
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(0.1 * torch.randn(dim))
        self.register_buffer("k_bias", torch.zeros(dim), persistent=False)
        self.v_bias = nn.Parameter(0.1 * torch.randn(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        b_, n, c = x.shape
        qkv_bias = torch.cat((self.q_bias, self.k_bias, self.v_bias))
        qkv = F.linear(input=x, weight=self.qkv.weight, bias=qkv_bias)
        qkv = qkv.reshape(b_, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        logit_scale = torch.clamp(self.logit_scale, max=math.log(1.0 / 0.01)).exp()
        attn = attn * logit_scale
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.heads)
        bias = table[self.relative_position_index.view(-1)].view(n, n, -1).permute(2, 0, 1).contiguous()
        attn = attn + (16 * torch.sigmoid(bias)).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(-1, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, n, n)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(b_, n, -1)
        return self.proj(x)


class SwinV2Block(nn.Module):
    def __init__(self, dim, res, heads, ws, shift, approximate):
        super().__init__()
        self.ws, self.shift = ws, shift
        self.attn = WindowAttentionV2(dim, ws, heads)
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.mlp = Mlp(dim, 4 * dim, approximate)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        if shift > 0:
            img_mask = torch.zeros((1, res, res, 1))
            cnt = 0
            for h in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                for w in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                    img_mask[:, h, w, :] = cnt
                    cnt += 1
            mw = window_partition(img_mask, ws).view(-1, ws * ws)
            mask = mw.unsqueeze(1) - mw.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, float(-100.0)).masked_fill(mask == 0, float(0.0))
        else:
            mask = None
        self.register_buffer("attn_mask", mask, persistent=False)

    def attend(self, x):
        b, h, w, c = x.shape
        if self.shift > 0:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        win = window_partition(x, self.ws).view(-1, self.ws * self.ws, c)
        win = self.attn(win, mask=self.attn_mask).view(-1, self.ws, self.ws, c)
        x = window_reverse(win, self.ws, h, w)
        if self.shift > 0:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        return x

    def forward(self, x):
        b, h, w, c = x.shape
        x = x + self.norm1(self.attend(x))
        x = x.reshape(b, -1, c)
        x = x + self.norm2(self.mlp(x))
        return x.reshape(b, h, w, c)


class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(2 * dim, eps=1e-5)

    def forward(self, x):
        b, h, w, c = x.shape
        x = x.reshape(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 4, 2, 5).flatten(3)
        return self.norm(self.reduction(x))


class SwinV2(nn.Module):
    def __init__(self, image_size=32, patch=2, dim=16, depths=(2, 2), heads=(2, 4), ws=4, classes=12,
                 approximate="tanh"):
        super().__init__()
        self.input = WdInput()
        self.patch_embed = nn.Conv2d(3, dim, patch, stride=patch)
        self.patch_norm = nn.LayerNorm(dim, eps=1e-5)
        res = image_size // patch
        stages = []
        for i, (n, h) in enumerate(zip(depths, heads)):
            layers = []
            if i > 0:
                layers.append(PatchMerging(dim))
                dim, res = dim * 2, res // 2
            for j in range(n):
                shift = 0 if (j % 2 == 0 or res <= ws) else ws // 2
                layers.append(SwinV2Block(dim, res, h, ws, shift, approximate))
            stages.append(nn.Sequential(*layers))
        self.layers = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(dim, eps=1e-5)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(self.input(x)).permute(0, 2, 3, 1)  # NHWC
        x = self.layers(self.patch_norm(x))
        x = self.norm(x).mean(dim=(1, 2))
        return torch.sigmoid(self.head(x))


# ---------------------------------------------------------------------------------------------
# EVA02 (timm eva.py): class token + absolute pos-emb, 2-D rotary embedding on the patch tokens'
# q and k (interleaved pairs: Slice step 2, Neg, stack), SwiGLU MLP with an inner LayerNorm
# (scale_mlp), mean of patch tokens -> fc_norm -> head.


def rot(x):
    return torch.stack([-x[..., 1::2], x[..., ::2]], -1).reshape(x.shape)


def apply_rot_embed_cat(x, emb):
    sin_emb, cos_emb = emb.tensor_split(2, -1)
    return x * cos_emb + rot(x) * sin_emb


def rope_2d(grid, head_dim, theta=10000.0):
    """sin/cos table [grid*grid, 2*head_dim] (timm RotaryEmbeddingCat layout: sin then cos),
    half the head dim for y, half for x, each frequency repeated for an interleaved pair."""
    nf = head_dim // 4
    freqs = 1.0 / (theta ** (torch.arange(0, nf, dtype=torch.float32) / nf))
    t = torch.arange(grid, dtype=torch.float32)
    ty, tx = torch.meshgrid(t, t, indexing="ij")
    fy = ty.reshape(-1, 1) * freqs  # [L, nf]
    fx = tx.reshape(-1, 1) * freqs
    ang = torch.cat([fy, fx], dim=-1).repeat_interleave(2, -1)  # [L, head_dim]
    return torch.cat([ang.sin(), ang.cos()], dim=-1)


class EvaAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(0.1 * torch.randn(dim))
        self.register_buffer("k_bias", torch.zeros(dim), persistent=False)
        self.v_bias = nn.Parameter(0.1 * torch.randn(dim))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, rope):
        b, n, c = x.shape
        qkv_bias = torch.cat((self.q_bias, self.k_bias, self.v_bias))
        qkv = F.linear(x, weight=self.qkv.weight, bias=qkv_bias)
        q, k, v = qkv.reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        npt = 1  # the class token is not rotated
        q = torch.cat([q[:, :, :npt, :], apply_rot_embed_cat(q[:, :, npt:, :], rope)], dim=2).type_as(v)
        k = torch.cat([k[:, :, :npt, :], apply_rot_embed_cat(k[:, :, npt:, :], rope)], dim=2).type_as(v)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class SwiGLU(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1_g = nn.Linear(dim, hidden)
        self.fc1_x = nn.Linear(dim, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-6)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.norm(F.silu(self.fc1_g(x)) * self.fc1_x(x)))


class EvaBlock(nn.Module):
    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = EvaAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = SwiGLU(dim, hidden)

    def forward(self, x, rope):
        x = x + self.attn(self.norm1(x), rope)
        return x + self.mlp(self.norm2(x))


class Eva02(nn.Module):
    def __init__(self, image_size=32, patch=4, dim=32, depth=2, heads=2, classes=12):
        super().__init__()
        self.input = WdInput()
        self.patch_embed = nn.Conv2d(3, dim, patch, stride=patch)
        grid = image_size // patch
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, grid * grid + 1, dim) * 0.02)
        self.register_buffer("rope", rope_2d(grid, dim // heads), persistent=False)
        hidden = int(dim * 4 * 2 / 3)
        self.blocks = nn.ModuleList([EvaBlock(dim, heads, hidden) for _ in range(depth)])
        self.fc_norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(self.input(x)).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x, self.rope)
        x = self.fc_norm(x[:, 1:].mean(dim=1))
        return torch.sigmoid(self.head(x))


# ---------------------------------------------------------------------------------------------
# MobileNetV2 (torchvision): Conv+BN+ReLU6 (exported as Conv with BN folded, Clip), inverted
# residuals with depthwise 3x3, GlobalAveragePool, Flatten, a BatchNorm1d (not foldable into a
# Conv, so BatchNormalization stays in the graph), Gemm, softmax.


def conv_bn(cin, cout, k, stride, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = [] if expand == 1 else [conv_bn(cin, hidden, 1, 1)]
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), conv_bn(hidden, cout, 1, 1, act=False)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        cfg = [(1, 8, 1, 1), (4, 12, 2, 2), (4, 16, 2, 2)]  # expand, channels, repeats, stride
        layers = [conv_bn(3, 8, 3, 2)]
        cin = 8
        for t, c, n, s in cfg:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(conv_bn(cin, 48, 1, 1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.bn = nn.BatchNorm1d(48)
        self.classifier = nn.Linear(48, classes)

    def forward(self, x):
        x = torch.flatten(self.pool(self.features(x)), 1)
        return torch.softmax(self.classifier(self.bn(x)), dim=1)


# ---------------------------------------------------------------------------------------------
# A Keras-style NHWC convnet as tf2onnx writes one (WD14 v2 taggers): every tensor stays NHWC and
# each convolution is wrapped in Transpose(0,3,1,2) ... Transpose(0,2,3,1), so the graph holds
# Transpose pairs that cancel around unary activations (Relu, Clip) and back to back between two
# convolutions, besides pairs that must stay (a residual Add reads the NHWC tensor too).


class NhwcConvNet(nn.Module):
    def __init__(self, classes=6):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, 2, 1)
        self.c2 = nn.Conv2d(16, 16, 3, 1, 1)
        self.c3 = nn.Conv2d(16, 24, 3, 2, 1)
        self.c4 = nn.Conv2d(24, 24, 1)
        self.c5 = nn.Conv2d(24, 24, 3, 1, 1, groups=24)
        self.c6 = nn.Conv2d(24, 32, 1)
        self.head = nn.Linear(32, classes)

    @staticmethod
    def nhwc(conv, x):
        return conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)

    def forward(self, x):
        x = x / 127.5 - 1.0                             # NHWC BGR 0..255 in, like WD14
        x = torch.relu(self.nhwc(self.c1, x))           # Conv T Relu T Conv: the pair cancels
        x = x + self.nhwc(self.c2, x)                   # x read twice: its pair stays
        x = torch.clamp(self.nhwc(self.c3, x), 0, 6)    # Clip between two pairs
        x = self.nhwc(self.c5, self.nhwc(self.c4, x))   # back to back: T T cancel
        x = torch.sigmoid(self.nhwc(self.c6, x))
        return torch.sigmoid(self.head(x.mean(dim=(1, 2))))


def randomize_batchnorm(model, gen=None):
    """Give every BatchNorm non-trivial affine params and running stats (eval-mode export)."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.weight.copy_(1 + 0.2 * torch.randn(m.num_features))
                m.bias.copy_(0.1 * torch.randn(m.num_features))
                m.running_mean.copy_(0.1 * torch.randn(m.num_features))
                m.running_var.copy_(0.5 + torch.rand(m.num_features))


def calibrate_batchnorm(model, make_batch, steps=4):
    """Set every BatchNorm's running statistics from the data (as training would), so that the
    normalized activations, and therefore the outputs, depend on the input. make_batch() -> tensor."""
    bns = [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    if not bns:
        return
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            model(make_batch())
    model.eval()
