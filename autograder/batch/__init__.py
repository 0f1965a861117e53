"""Grading a class: batches and their runners, progress, regrading and instructor reviews."""
