# sys.exit inside the graded call.
# expect: 2 | sys.exit
import sys
def attack():
    sys.exit(0)
