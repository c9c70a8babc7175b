# os._exit while the notebook is imported (a class body runs at import).
# expect: 2 | not loaded || crashed
import os
class Boom:
    os._exit(0)
def attack():
    return 42
