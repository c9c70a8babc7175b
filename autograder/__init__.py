"""The course autograder: authoring, extraction, grading and the pytest plugin."""

__version__ = "0.1.0"
