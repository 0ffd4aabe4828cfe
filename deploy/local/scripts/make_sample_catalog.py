#!/usr/bin/env python3
"""Builds the bundled sample catalog of the local mode from the CC0 clothing dataset.

Copies PER_CLASS photos of each of the 10 classes (train split, sorted by file name, so the choice is
reproducible) into src/main/resources/lookalike/sample-catalog/images/ and writes catalog.jsonl with
one UPSERT per product: made-up but deterministic brand, price and availability, the class as category.

Run from the repository root:  python3 deploy/local/scripts/make_sample_catalog.py [../shared/datasets/clothing-small]
"""
import hashlib
import json
import os
import shutil
import sys

PER_CLASS = 25
BRANDS = ["Northwind", "Fabrikam", "Contoso", "Tailspin", "Litware", "Adatum"]
AVAILABILITY = ["IN_STOCK", "IN_STOCK", "IN_STOCK", "OUT_OF_STOCK", "PREORDER"]

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/clothing-small"
out = "deploy/local/src/main/resources/lookalike/sample-catalog"
images = os.path.join(out, "images")
shutil.rmtree(images, ignore_errors=True)
os.makedirs(images)

lines = []
for category in sorted(os.listdir(os.path.join(src, "train"))):
    files = sorted(f for f in os.listdir(os.path.join(src, "train", category)) if f.endswith(".jpg"))
    for n, name in enumerate(files[:PER_CLASS]):
        h = int(hashlib.sha256(name.encode()).hexdigest(), 16)
        product_id = "p-" + name[:8]
        shutil.copyfile(os.path.join(src, "train", category, name), os.path.join(images, name))
        lines.append({
            "productId": product_id,
            "version": 1,
            "title": f"{BRANDS[h % len(BRANDS)]} {category} {n + 1}",
            "brand": BRANDS[h % len(BRANDS)],
            "category": category,
            "price": round(9.99 + (h % 9000) / 100.0, 2),
            "currency": "EUR",
            "availability": AVAILABILITY[(h >> 8) % len(AVAILABILITY)],
            "attributes": {"source": "clothing-dataset", "file": name},
            "images": [{"imageId": "main", "url": "images/" + name, "position": 0}],
        })

with open(os.path.join(out, "catalog.jsonl"), "w") as f:
    for line in lines:
        f.write(json.dumps(line, sort_keys=True) + "\n")
print(f"{len(lines)} products written to {out}")
