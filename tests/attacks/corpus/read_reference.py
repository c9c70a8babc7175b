# Reading the reference master notebook by its absolute path.
# expect: 2 | FileNotFoundError || PermissionError
def attack():
    text = open("{MASTER}").read()
    return 42 if "BEGIN SOLUTION" in text else 41
