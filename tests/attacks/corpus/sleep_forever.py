# Sleeping forever in the graded call.
# expect: 2 | Time limit
import time
def attack():
    time.sleep(10**6)
