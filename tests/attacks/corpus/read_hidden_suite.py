# Reading the hidden suite by its absolute path.
# expect: 2 | FileNotFoundError || PermissionError
def attack():
    text = open("{SUITE}").read()
    return 42 if "canary-5b1e" in text else 41
