# An object whose __eq__ always says yes.
# expect: 2 | where data (a tensor, number, list...) was expected
class Always:
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__
def attack():
    return Always()
