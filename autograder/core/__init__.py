"""The grader's standard-library core: reading notebooks, extracting a module from the
answer cells, loading its blocks, the suite markers, the submission view, the errors a
student sees, student text in messages, and the worker's recipes.

Every file here imports only the standard library and its neighbours here, by relative
import, so release bundles copy these files byte for byte (autograder/release/checker.py)
and a student's offline check reads a notebook exactly as the grader does.
"""
