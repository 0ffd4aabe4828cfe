#!/usr/bin/python3
"""Adapt the embedding to a shop's catalog: a projection head trained on the pretrained backbone's features,
baked with the backbone into one TorchScript file the embedder loads like any other model.

What it does
  1. Reads the catalog photos: --images DIR holds one sub-directory per label (e.g. category), photos inside
     (clothing-small's train/ and validation/ are laid out like that; so is what `lookalike train` exports from catalog.product-images, then runs this script on).
  2. Runs the (frozen) TorchScript backbone, --base (default: the bundled MobileNetV2 features, 1280-d), on
     --views augmented views of every photo: the photo itself, a 60-90 % crop, a price/text overlay, the photo
     at 40 % pasted into another catalog photo, a 10 degree rotation, a mirror image.
  3. Fits PCA-whitening on the catalog's features (mean, top --dim components, eigenvalues shrunk by
     --shrink) as the head's starting point: alone (--steps 0) it is the cheap adaptation.
  4. Trains the head (a linear layer, then L2 norm) with metric learning on those features:
     Proxy-Anchor loss (Kim et al., CVPR 2020) on the labels, plus a supervised-contrastive term whose
     positives are the views of the same photo (same product under crops, overlays, scenes).
  5. Writes --out: TorchScript of backbone -> linear -> L2 norm (input: [N,3,224,224] ImageNet-normalised,
     as the embedder feeds any model), reloads it and checks it matches the trained head on a batch.

Why Python and not DJL training: DJL's PyTorch engine trains only through its own Block API, and
TorchScript models loaded in DJL are inference-only on our engine version; Debian's torch 1.13 CPU build
trains and traces here, and its TorchScript files load in the embedder's libtorch 2.7.1.

Run (from the repo root, Debian's python3-torch python3-torchvision python3-pil):
  /usr/bin/python3 models/train/adapt.py --images ../shared/datasets/clothing-small/train --out target/adapted.pt
Prints one line per --log-every steps ("step N loss L"), then "first loss A last loss B", "wrote PATH".
"""
import argparse
import glob
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_BASE = os.path.join(REPO, "models", "mobilenet_v2_features", "mobilenet_v2_features.pt")
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def preprocess(img):
    """As DjlEmbedder: short side 256, centre crop 224, /255, ImageNet mean/std."""
    x = TF.center_crop(TF.resize(img.convert("RGB"), 256, interpolation=TF.InterpolationMode.BILINEAR), 224)
    return (TF.to_tensor(x) - MEAN) / STD


def crop(img, rng):
    f = rng.uniform(0.6, 0.9)
    w, h = img.size
    cw, ch = int(w * f), int(h * f)
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return img.crop((x, y, x + cw, y + ch))


def overlay(img, rng):
    img = img.convert("RGB").copy()
    w, h = img.size
    d = ImageDraw.Draw(img)
    top = int(h * rng.uniform(0.55, 0.7))
    d.rectangle((0, top, w, top + int(h * 0.14)), fill=(200, 0, 0))
    d.text((int(w * 0.05), top + int(h * 0.03)), "NOW ONLY %d.99" % rng.randint(9, 99), fill=(255, 255, 255))
    r = int(w * 0.15)
    d.ellipse((int(w * 0.66), int(h * 0.04), int(w * 0.66) + 2 * r, int(h * 0.04) + 2 * r), fill=(255, 230, 0))
    return img


def paste(img, scene, rng):
    scene = scene.convert("RGB").copy()
    s = 0.4 * min(scene.size) / max(img.size)
    small = img.convert("RGB").resize((max(1, int(img.size[0] * s)), max(1, int(img.size[1] * s))))
    x = rng.randint(0, max(0, scene.size[0] - small.size[0]))
    y = rng.randint(0, max(0, scene.size[1] - small.size[1]))
    scene.paste(small, (x, y))
    return scene


def views(img, scene, rng, n):
    out = [img, crop(img, rng), overlay(img, rng), paste(img, scene, rng),
           img.convert("RGB").rotate(rng.choice([-10, 10]), fillcolor=(255, 255, 255)),
           TF.hflip(img)]
    return out[:n]


def proxy_anchor(emb, labels, proxies, alpha=32.0, delta=0.1):
    p = F.normalize(proxies, dim=1)
    sim = emb @ p.t()  # [B, C]
    pos = F.one_hot(labels, p.shape[0]).float()
    neg = 1 - pos
    pos_exp = torch.exp(-alpha * (sim - delta)) * pos
    neg_exp = torch.exp(alpha * (sim + delta)) * neg
    with_pos = (pos.sum(0) > 0).float()
    pos_term = torch.log1p(pos_exp.sum(0)).mul(with_pos).sum() / with_pos.sum().clamp(min=1)
    neg_term = torch.log1p(neg_exp.sum(0)).sum() / p.shape[0]
    return pos_term + neg_term


def same_photo_contrastive(emb, photo_ids, temperature=0.1):
    sim = emb @ emb.t() / temperature
    eye = torch.eye(len(photo_ids), dtype=torch.bool)
    sim = sim.masked_fill(eye, -1e9)
    positives = (photo_ids.view(-1, 1) == photo_ids.view(1, -1)) & ~eye
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    has = positives.sum(1) > 0
    if not bool(has.any()):
        return emb.sum() * 0
    return -(log_prob * positives).sum(1)[has].div(positives.sum(1)[has]).mean()


class Adapted(nn.Module):
    def __init__(self, backbone, head):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x):
        f = F.normalize(self.backbone(x), dim=1)
        return F.normalize(self.head(f), dim=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", help="directory of label sub-directories of photos")
    ap.add_argument("--features", help="instead of --images: lines 'id<TAB>label<TAB>v1,v2,...' of backbone"
                    " features already computed (RelevanceBench -Dbench.dump=FILE); one view, no augmentation")
    ap.add_argument("--base", default=DEFAULT_BASE)
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, default=0, help="at most this many photos (0: all)")
    ap.add_argument("--views", type=int, default=6)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--shrink", type=float, default=0.5, help="eigenvalue power removed (0.5: full whitening)")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    t0 = time.time()

    if args.features:
        ids, labels, rows = [], [], []
        with open(args.features) as f:
            for line in f:
                pid_, label, vec = line.rstrip("\n").split("\t")
                ids.append(pid_)
                labels.append(label)
                rows.append([float(v) for v in vec.split(",")])
        labels_names = sorted(set(labels))
        x = F.normalize(torch.tensor(rows), dim=1)
        y = torch.tensor([labels_names.index(l) for l in labels])
        pid = torch.arange(len(rows))
        args.views = 1
        files = ids
        backbone = torch.jit.load(args.base, map_location="cpu").eval()
        print("%d feature rows, %d labels" % (len(rows), len(labels_names)), flush=True)
    else:
        if not args.images:
            sys.exit("give --images DIR or --features FILE")
        labels_names = sorted(d for d in os.listdir(args.images) if os.path.isdir(os.path.join(args.images, d)))
        files = []
        for li, name in enumerate(labels_names):
            for f in sorted(glob.glob(os.path.join(args.images, name, "*"))):
                if f.lower().endswith((".jpg", ".jpeg", ".png", ".webp")):
                    files.append((f, li))
        rng.shuffle(files)
        if args.limit:
            files = files[:args.limit]
        if len(files) < 2:
            sys.exit("need at least 2 photos under " + args.images)
        print("%d photos, %d labels, %d views each" % (len(files), len(labels_names), args.views), flush=True)

        backbone = torch.jit.load(args.base, map_location="cpu").eval()
        feats, labels, photo_ids = [], [], []
        with torch.no_grad():
            batch, meta = [], []
            for i, (f, li) in enumerate(files):
                img = Image.open(f).convert("RGB")
                scene = Image.open(files[(i + 1 + rng.randrange(len(files) - 1)) % len(files)][0]).convert("RGB")
                for v in views(img, scene, rng, args.views):
                    batch.append(preprocess(v))
                    meta.append((li, i))
                if len(batch) >= 64 or i == len(files) - 1:
                    feats.append(F.normalize(backbone(torch.stack(batch)), dim=1))
                    labels += [m[0] for m in meta]
                    photo_ids += [m[1] for m in meta]
                    batch, meta = [], []
        x = torch.cat(feats)
        y = torch.tensor(labels)
        pid = torch.tensor(photo_ids)
        print("features %s in %.1f min" % (tuple(x.shape), (time.time() - t0) / 60), flush=True)

    # PCA-whitening on the originals (view 0) of the catalog
    originals = x[torch.arange(0, len(x), args.views)]
    mean = originals.mean(0)
    cov = (originals - mean).t() @ (originals - mean) / max(1, len(originals) - 1)
    evals, evecs = torch.linalg.eigh(cov)
    order = torch.argsort(evals, descending=True)
    dim = min(args.dim, x.shape[1])
    evals, evecs = evals[order][:dim].clamp(min=1e-6), evecs[:, order][:, :dim]
    evals = evals + evals.mean() * 0.1  # keeps noise directions of a small catalog from being blown up
    w = (evecs / evals.pow(args.shrink)).t()  # [dim, D]
    head = nn.Linear(x.shape[1], dim)
    with torch.no_grad():
        head.weight.copy_(w)
        head.bias.copy_(-(w @ mean))

    losses = []
    if args.steps > 0:
        proxies = nn.Parameter(torch.randn(len(labels_names), dim) * 0.01)
        with torch.no_grad():
            e = F.normalize(head(originals), dim=1)
            yo = y[torch.arange(0, len(x), args.views)]
            for c in range(len(labels_names)):
                if (yo == c).any():
                    proxies[c] = e[yo == c].mean(0)
        opt = torch.optim.AdamW([{"params": head.parameters(), "lr": args.lr},
                                 {"params": [proxies], "lr": args.lr * 100}], weight_decay=1e-4)
        photos = len(files)
        per_batch = max(2, args.batch // args.views)
        for step in range(1, args.steps + 1):
            chosen = torch.randperm(photos)[:per_batch]
            idx = (chosen.view(-1, 1) * args.views + torch.arange(args.views).view(1, -1)).view(-1)
            idx = idx[idx < len(x)]
            emb = F.normalize(head(x[idx]), dim=1)
            loss = proxy_anchor(emb, y[idx], proxies) + same_photo_contrastive(emb, pid[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % args.log_every == 0 or step == 1:
                print("step %d loss %.4f" % (step, loss.item()), flush=True)
        k = max(1, min(10, len(losses) // 5))
        print("first loss %.4f last loss %.4f" % (sum(losses[:k]) / k, sum(losses[-k:]) / k), flush=True)

    model = Adapted(backbone, head).eval()
    example = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        traced = torch.jit.trace(model, example, check_trace=False)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        traced.save(args.out)
        again = torch.jit.load(args.out)
        diff = (again(example) - model(example)).abs().max().item()
    if diff > 1e-4:
        sys.exit("the saved model differs from the trained one by %g" % diff)
    print("wrote %s (%d-d) in %.1f min" % (args.out, dim, (time.time() - t0) / 60), flush=True)


if __name__ == "__main__":
    main()
