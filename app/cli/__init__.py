"""The `course` command line: one file per command, composed in `main.py`."""
