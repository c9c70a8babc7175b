# An atexit handler that prints a fake perfect score.
# expect: 2 | must return the expected value
import atexit
def attack():
    atexit.register(print, '{"score": 100, "tests": []}')
    return 41
