#!/usr/bin/python3
"""Make the garment locator's TorchScript from the default embedding model: the same MobileNetV2 `features`
(same weights, same file they come from), returning the last feature map instead of its average.

What it does
  1. Loads models/mobilenet_v2_features/mobilenet_v2_features.pt (the default model, see its README).
  2. Wraps its `features` submodule in a module that returns the feature map [N, 1280, H/32, W/32] (post-ReLU,
     >= 0; 7x7 at 224 px) and traces it (torch.jit.trace; plain convolutions, any input size).
  3. Checks on --n photos of the dataset that the average of the saved file's feature map equals the default
     model's vector (max abs difference below 1e-5), at batch 1 and 7, and that a 224x288 input works.
  4. Prints the output's size and sha256.

The locator (io.lookalike.model.GarmentLocator) sums the map over channels, keeps the cells above the mean
and takes the largest connected region as the garment (SCDA, Wei et al., "Selective Convolutional Descriptor
Aggregation for Fine-Grained Image Retrieval", IEEE TIP 2017): no extra model, one forward pass.

Run (from the repo root, Debian's python3-torch):
  /usr/bin/python3 models/mobilenet_v2_featuremap/make.py
"""
import argparse
import glob
import hashlib
import os
import random
import sys

import torch
import torch.nn as nn
import torchvision.transforms.functional as TF
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.path.abspath(os.path.join(REPO, "..", "shared"))
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


class FeatureMap(nn.Module):
    """[N,3,H,W] ImageNet-normalised RGB -> [N,1280,H/32,W/32] last MobileNetV2 feature map."""

    def __init__(self, features):
        super().__init__()
        self.features = features

    def forward(self, x):
        return self.features(x)


def preprocess(img):
    x = TF.center_crop(TF.resize(img.convert("RGB"), 256, interpolation=TF.InterpolationMode.BILINEAR), 224)
    return (TF.to_tensor(x) - MEAN) / STD


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default=os.path.join(REPO, "models", "mobilenet_v2_features", "mobilenet_v2_features.pt"))
    ap.add_argument("--dataset", default=os.path.join(SHARED, "datasets", "clothing-small"))
    ap.add_argument("--out", default=os.path.join(HERE, "mobilenet_v2_featuremap.pt"))
    ap.add_argument("--n", type=int, default=14)
    args = ap.parse_args()
    torch.manual_seed(0)
    base = torch.jit.load(args.base, map_location="cpu").eval()
    module = FeatureMap(base.features).eval()
    with torch.no_grad():
        traced = torch.jit.trace(module, torch.randn(1, 3, 224, 224))
    traced.save(args.out)
    loaded = torch.jit.load(args.out).eval()
    files = sorted(glob.glob(os.path.join(args.dataset, "*", "*", "*.jpg")))
    random.Random(0).shuffle(files)
    files = files[: args.n]
    worst = 0.0
    with torch.no_grad():
        for chunk in (files[:1], files[1:8]):
            x = torch.stack([preprocess(Image.open(f)) for f in chunk]) if chunk else torch.randn(1, 3, 224, 224)
            fmap = loaded(x)
            assert fmap.shape[1:] == (1280, 7, 7), fmap.shape
            pooled = torch.flatten(nn.functional.adaptive_avg_pool2d(fmap, 1), 1)
            worst = max(worst, float((pooled - base(x)).abs().max()))
        assert loaded(torch.randn(1, 3, 224, 288)).shape == (1, 1280, 7, 9)
    print("average of the map vs the default model: max abs difference %.2e" % worst)
    if worst > 1e-5:
        sys.exit("FAIL: the feature map does not average to the default model's vector")
    digest = hashlib.sha256(open(args.out, "rb").read()).hexdigest()
    print("output: %s  %d bytes  sha256 %s" % (args.out, os.path.getsize(args.out), digest))


if __name__ == "__main__":
    main()
