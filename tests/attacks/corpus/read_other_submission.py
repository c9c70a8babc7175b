# Reading another student's submission from the batch folder.
# expect: 2 | FileNotFoundError || PermissionError
def attack():
    text = open("{OTHER}").read()
    return 42 if "honest" in text else 41
