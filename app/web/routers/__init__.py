"""One router per area of the app: auth, home, grading, gradebook (and the student side)."""
