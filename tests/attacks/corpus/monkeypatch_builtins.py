# Replacing builtins so comparisons always succeed.
# expect: 2 | crashed || must return the expected value
import builtins
def attack():
    builtins.isinstance = lambda *a: True
    builtins.len = lambda *a: 42
    builtins.int = lambda *a: 42
    return 41
