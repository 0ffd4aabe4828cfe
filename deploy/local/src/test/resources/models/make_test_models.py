#!/usr/bin/python3
"""Derive two small TorchScript test models from the default model (models/mobilenet_v2_features).

  mobilenet_v2_block13.pt  features[0..13] of the default MobileNetV2, globally average-pooled: 96-d.
                           A plausible "retrained" model: different output, still a decent image descriptor.
  bad_first_conv.pt        only features[0] (the first 3x3 conv + ReLU), pooled: 32-d. Little more than the
                           image's average colour: a deliberately bad model that must fail the quality gate.

Same input as the default (float [N,3,224,224], ImageNet-normalised); output not L2-normalised (the embedder
normalises). Run from the repo root with Debian's torch 1.13:
  /usr/bin/python3 deploy/local/src/test/resources/models/make_test_models.py
"""
import os

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", "..", ".."))
DEFAULT = os.path.join(REPO, "models", "mobilenet_v2_features", "mobilenet_v2_features.pt")


class Prefix(nn.Module):
    """The first `blocks` blocks of the traced features, then global average pooling."""

    def __init__(self, features, blocks):
        super().__init__()
        self.blocks = nn.ModuleList([getattr(features, str(i)) for i in range(blocks)])

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1)


def export(model, name):
    model.eval()
    example = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
        out = traced(torch.rand(5, 3, 224, 224))
    path = os.path.join(HERE, name + ".pt")
    traced.save(path)
    print(f"{path}: output {tuple(out.shape)}, {os.path.getsize(path)} bytes")


def main():
    torch.manual_seed(0)
    default = torch.jit.load(DEFAULT)
    export(Prefix(default.features, 14), "mobilenet_v2_block13")
    export(Prefix(default.features, 1), "bad_first_conv")


if __name__ == "__main__":
    main()
