#!/usr/bin/python3
"""Reference trajectories for the cryogen nn core, computed with PyTorch (Debian python3-torch).

Usage: /usr/bin/python3 scripts/make_nn_reference.py OUTDIR

Writes OUTDIR/nn_ref_mlp.bin and OUTDIR/nn_ref_cnn.bin: initial weights, inputs, targets,
per-step losses, the gradients of the first and last step and the final weights of
  * a residual ReLU MLP (8 -> 32 -> 32 -> 32 -> 3, cryoDRGN ResidLinearMLP shape), MSE loss,
    Adam with warm-up + cosine learning rate and global-norm clipping, 20 steps;
  * a small CNN: conv3x3(2->4) ReLU maxpool2 conv3x3(4->8) GroupNorm(2) LeakyReLU(0.1)
    avgpool2 flatten linear(72->5), MSE loss, AdamW (weight decay 0.01), 10 steps.
Record format (little-endian): name (64 bytes, NUL-padded), u32 count, count float32.
tests/test_nn_torch_ref.c runs this script at test time; nothing here is committed as data.
"""
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")

    def put(self, name, t):
        data = t.detach().to(torch.float32).contiguous().view(-1).tolist() if torch.is_tensor(t) else [float(v) for v in t]
        self.f.write(name.encode().ljust(64, b"\0"))
        self.f.write(struct.pack("<I", len(data)))
        self.f.write(struct.pack("<%df" % len(data), *data))

    def close(self):
        self.f.close()


def lr_at(step, base, min_lr, warmup, total):
    """Warm-up then cosine decay (written independently of the C implementation)."""
    if step < warmup:
        return base * (step + 1) / warmup
    prog = min(1.0, (step - warmup) / (total - warmup))
    return min_lr + (base - min_lr) * 0.5 * (1 + math.cos(math.pi * prog))


class ResidMLP(nn.Module):
    def __init__(self, din, hidden, n_hidden, dout):
        super().__init__()
        dims = [din] + [hidden] * (n_hidden + 1) + [dout]
        self.layers = nn.ModuleList(nn.Linear(dims[i], dims[i + 1]) for i in range(len(dims) - 1))

    def forward(self, x):
        for i, lin in enumerate(self.layers):
            y = lin(x)
            if lin.in_features == lin.out_features:
                y = y + x
            x = torch.relu(y) if i < len(self.layers) - 1 else y
        return x


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, stride=1, padding=1)
        self.c2 = nn.Conv2d(4, 8, 3, stride=1, padding=1)
        self.gn = nn.GroupNorm(2, 8, eps=1e-5)
        self.fc = nn.Linear(72, 5)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.c1(x)), 2)
        x = F.leaky_relu(self.gn(self.c2(x)), 0.1)
        x = F.avg_pool2d(x, 2)
        return self.fc(x.flatten(1))


def named(model, names):
    return list(zip(names, model.parameters()))


def train(model, names, opt, x, y, steps, w, lr_fn=None, clip=None):
    losses = []
    for step in range(steps):
        if lr_fn:
            for g in opt.param_groups:
                g["lr"] = lr_fn(step)
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        if step == 0 or step == steps - 1:
            for n, p in named(model, names):
                w.put("grad%d.%s" % (0 if step == 0 else 1, n), p.grad)
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(loss.item())
    w.put("losses", losses)
    for n, p in named(model, names):
        w.put("final." + n, p)


def mlp_reference(out):
    torch.manual_seed(1)
    model = ResidMLP(8, 32, 2, 3)
    names = ["l%d.%s" % (i, k) for i in range(4) for k in ("weight", "bias")]
    x = torch.randn(64, 8)
    y = torch.randn(64, 3)
    w = Writer(os.path.join(out, "nn_ref_mlp.bin"))
    for n, p in named(model, names):
        w.put("init." + n, p)
    w.put("x", x)
    w.put("y", y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    train(model, names, opt, x, y, 20, w, lambda s: lr_at(s, 1e-2, 1e-4, 3, 20), clip=1.0)
    w.close()


def cnn_reference(out):
    torch.manual_seed(2)
    model = SmallCNN()
    names = ["c1.weight", "c1.bias", "c2.weight", "c2.bias", "gn.weight", "gn.bias", "fc.weight", "fc.bias"]
    with torch.no_grad():  # non-trivial affine parameters for the norm
        model.gn.weight.uniform_(0.5, 1.5)
        model.gn.bias.uniform_(-0.5, 0.5)
    x = torch.randn(4, 2, 12, 12)
    y = torch.randn(4, 5)
    w = Writer(os.path.join(out, "nn_ref_cnn.bin"))
    for n, p in named(model, names):
        w.put("init." + n, p)
    w.put("x", x)
    w.put("y", y)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.01)
    train(model, names, opt, x, y, 10, w)
    w.close()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_nn_reference.py OUTDIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    torch.set_num_threads(1)
    mlp_reference(sys.argv[1])
    cnn_reference(sys.argv[1])


if __name__ == "__main__":
    main()
