# Reading the gradebook database.
# expect: 2 | FileNotFoundError || PermissionError
def attack():
    data = open("{GRADEBOOK}", "rb").read()
    return 42 if data[:6] == b"SQLite" else 41
