"""Grading one submission: the pipeline from notebook to result."""
