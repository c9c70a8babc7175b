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
    if name == "arguments_probe":
        return ArgumentsProbe()
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


class ArgumentsProbe:
    """`probe.changed(fn, *args, **kwargs)`: calls `fn` where the student's code runs, on
    arguments that live there, and names the tensors, arrays and module parameters among
    them (at any depth of lists, tuples and dicts) that the call changed in place, e.g.
    `["args[0]['w']"]`. What the probe reports comes from the worker, which student code
    shares: tests judged on it are marked `worker_reported`."""

    def changed(self, fn, *args, **kwargs):
        before = _snapshot({"args": list(args), "kwargs": kwargs})
        fn(*args, **kwargs)
        after = _snapshot({"args": list(args), "kwargs": kwargs})
        return sorted(path for path, value in before.items() if not _same(value, after.get(path)))


def _snapshot(value, path="", out=None):
    """{path: a copy} of every tensor, array and module parameter inside `value`."""
    out = {} if out is None else out
    kind = type(value).__module__.split(".")[0]
    if isinstance(value, dict):
        for key, item in value.items():
            _snapshot(item, f"{path}[{key!r}]" if path else str(key), out)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _snapshot(item, f"{path}[{i}]", out)
    elif kind == "torch" and hasattr(value, "state_dict") and callable(value.state_dict):
        for key, item in value.state_dict().items():  # a module's tensors, an optimizer's state
            _snapshot(item, f"{path}.{key}", out)
    elif kind == "torch" and hasattr(value, "detach"):
        out[path] = value.detach().clone()
    elif kind == "numpy" and hasattr(value, "copy") and hasattr(value, "shape"):
        out[path] = value.copy()
    return out


def _same(a, b):
    """Equal shape, dtype and bits (NaNs in the same places count as equal)."""
    if a is None or b is None or type(a) is not type(b) or a.shape != b.shape \
            or a.dtype != b.dtype:
        return False
    if hasattr(a, "detach"):
        import torch

        def bits(t):
            return t.cpu().reshape(-1).contiguous().view(torch.uint8)

        return bool(torch.equal(bits(a), bits(b)))
    return a.tobytes() == b.tobytes()
