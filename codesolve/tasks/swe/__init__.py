"""SWE-style repository issues: build specs, checkouts, untrusted patches, grading, and the engine's task.

* :mod:`~codesolve.tasks.swe.specs`: environment build specs (YAML data per repo and version).
* :mod:`~codesolve.tasks.swe.checkout`: fresh trees at a base commit from local mirrors.
* :mod:`~codesolve.tasks.swe.patches`: patch safety and the ``git apply`` → ``--3way`` → ``patch --fuzz`` chain.
* :mod:`~codesolve.tasks.swe.grading`: SWE-bench grading from JUnit XML cross-checked with exit codes.
"""
