"""The course's web app (FastAPI): staff grading, the gradebook, the student portal."""
