# An int subclass that claims to be 42.
# expect: 2 | where data (a tensor, number, list...) was expected
class Liar(int):
    def __eq__(self, other):
        return True
    def __float__(self):
        return 42.0
    def __bool__(self):
        return True
    __hash__ = int.__hash__
def attack():
    return Liar(41)
