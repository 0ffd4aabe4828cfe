"""Wraps a TorchScript image model so that it runs in fp16 but takes and returns fp32 tensors.

The Java side (DjlEmbedder's translator) is unchanged: it feeds float32 and reads float32.
Usage: python3 half.py SRC.pt DST.pt
"""
import sys

import torch


class Half(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.half()).float()


def main(src, dst):
    model = torch.jit.load(src, map_location="cpu").half().eval()
    torch.jit.script(Half(model)).save(dst)
    print(f"wrote {dst} (torch {torch.__version__})")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
