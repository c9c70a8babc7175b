# Filling the disk.
# expect: 2 | crashed || File size limit || OSError || No space left
def attack():
    with open("/tmp/fill", "wb") as f:
        while True:
            f.write(b"x" * 2**20)
