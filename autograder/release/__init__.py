"""What students receive: one zip bundle per module, checked for leaks before it exists.

- `pins`: requirements.txt pinning the packages the module needs at the versions the
  course was validated with;
- `checker`: the bundle's offline checker (`check.py` + copies of the grader's own
  notebook extraction), so its verdicts match `course check`;
- `leaks`: what must never reach students, and the scan that refuses a bundle;
- `bundle`: building the zip deterministically; `manifest`: what was released when.
"""
