#!/usr/bin/python3
"""Make three tiny, deliberately broken TorchScript test models (no weights; a few hundred bytes each).

  zeros_out.pt        outputs a 16-d zero vector for every image: nothing to normalise, nothing to search.
  nan_out.pt          outputs a 16-d vector of NaN for every image.
  too_many_dims.pt    outputs 5,000 dimensions (the first 5,000 input values): more than an index holds (4,096).

Same input as the default model (float [N,3,224,224]). Run from the repo root with Debian's torch 1.13:
  /usr/bin/python3 deploy/local/src/test/resources/models/make_broken_models.py
"""
import os

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


class Zeros(nn.Module):
    def forward(self, x):
        return torch.zeros(x.shape[0], 16) * x.mean()


class NaNs(nn.Module):
    def forward(self, x):
        return torch.full((x.shape[0], 16), float("nan")) + x.mean()


class TooManyDims(nn.Module):
    def forward(self, x):
        return torch.flatten(x, 1)[:, :5000]


def export(model, name):
    model.eval()
    with torch.no_grad():
        scripted = torch.jit.script(model)
        out = scripted(torch.rand(3, 3, 224, 224))
    path = os.path.join(HERE, name + ".pt")
    scripted.save(path)
    print(f"{path}: output {tuple(out.shape)}, {os.path.getsize(path)} bytes, first {out[0, 0].item()}")


def main():
    export(Zeros(), "zeros_out")
    export(NaNs(), "nan_out")
    export(TooManyDims(), "too_many_dims")


if __name__ == "__main__":
    main()
