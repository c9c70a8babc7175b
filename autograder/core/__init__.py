"""The grader's standard-library core: reading notebooks, extracting a module from the
answer cells, loading its blocks, loading a notebook against its stub into the
submission view (`submission`), the suite markers, the errors a student sees (those of
their code re-raised from the worker included), the text of a failed test (`failures`),
student text in messages, and the worker's recipes.

Every file here imports only the standard library and its neighbours here, by relative
import, so release bundles copy these files byte for byte (autograder/release/checker.py)
and a student's offline check reads a notebook, and explains a failure, exactly as the
grader does.
"""
