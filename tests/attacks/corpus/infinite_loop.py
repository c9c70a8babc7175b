# An infinite loop in the graded call.
# expect: 2 | Time limit
def attack():
    while True:
        pass
