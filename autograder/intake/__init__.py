"""Finding the submissions in what an instructor points the grader at: files, folders, LMS exports."""
