# A fork bomb.
# expect: 2 | crashed || BlockingIOError || Resource temporarily unavailable || Time limit
import os
def attack():
    while True:
        os.fork()
