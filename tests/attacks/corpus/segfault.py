# A segmentation fault through ctypes.
# expect: 2 | crashed
import ctypes
def attack():
    ctypes.string_at(0)
