# os._exit inside the graded call: the worker dies, the grader restarts it.
# expect: 2 | crashed
import os
def attack():
    os._exit(0)
