"""The application: the front ends that compose the engine (autograder/) and the
gradebook (gradebook/): the `course` command line and the demo (later the web app).

Nothing in autograder/ or gradebook/ imports this package (import-linter contracts in
pyproject.toml).
"""
