# Walking up the call stack to find the test's expected value.
# expect: 2 | must return the expected value
import sys
def attack():
    frame = sys._getframe()
    while frame is not None:
        if "SECRET_EXPECTED" in frame.f_globals:
            return frame.f_globals["SECRET_EXPECTED"]
        frame = frame.f_back
    return 41
