# Filling GPU memory (on a CPU grader there is no CUDA to fill).
# expect: 2 | CUDA || Torch not compiled || crashed || MemoryError
import torch
def attack():
    hog = []
    while True:
        hog.append(torch.empty(2**28, device="cuda"))
