"""Recipes: objects a test passes into student code, built where that code runs.

A test asks for `recipe("torch.nn.Linear", 4, 2)`; the object is made in the sandboxed
worker (or, in trusted mode and in a bundle's offline checker, in the grading process)
from its name, so no live object ever crosses the channel. Standard library only, with
torch imported when a recipe needs it: the worker and release bundles receive this file.
"""


def build_recipe(name, args, kwargs, device="cpu"):
    """The object named `name`, built from plain `args`/`kwargs` on `device`."""
    if name == "torch.Generator":
        import torch

        return torch.Generator(device=device).manual_seed(int(args[0]))
    if name.startswith("torch.nn.functional."):
        import torch.nn.functional as F

        return getattr(F, name.rsplit(".", 1)[1])
    if name.startswith("torch.nn."):
        import torch.nn as nn

        cls = getattr(nn, name.rsplit(".", 1)[1])
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise ValueError(f"recipe {name} is not a torch.nn module")
        return cls(*args, **kwargs)
    raise ValueError(f"unknown recipe {name!r}")
