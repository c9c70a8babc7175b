# A math.py and a numpy/ package written next to the code, then importing them.
# expect: 2 | must return the expected value
import os, sys
def attack():
    here = os.getcwd()
    open(os.path.join(here, "math.py"), "w").write("pi = 42\n")
    os.makedirs(os.path.join(here, "numpy"), exist_ok=True)
    open(os.path.join(here, "numpy", "__init__.py"), "w").write("allclose = lambda *a, **k: True\n")
    sys.path.insert(0, here)
    return 41
