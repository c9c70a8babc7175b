# Allocating memory until something gives.
# expect: 2 | crashed || MemoryError
def attack():
    hog = []
    while True:
        hog.append(bytearray(64 * 2**20))
