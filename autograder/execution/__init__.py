"""Running a submission: the sandboxed kernel, its jail and limits, and probe processes that query its exports.

``_child`` holds the code that runs in those processes (or sets up their jail); it imports
nothing of this package, so nothing of the grader is loaded where student code runs.
"""
