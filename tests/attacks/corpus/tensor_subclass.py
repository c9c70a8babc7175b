# A torch.Tensor subclass with a rigged __eq__.
# expect: 2 | where data (a tensor, number, list...) was expected
import torch
class Rigged(torch.Tensor):
    def __eq__(self, other):
        return True
def attack():
    return torch.tensor(41).as_subclass(Rigged)
