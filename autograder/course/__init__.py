"""A course: its folder, the labs' contracts, rubrics, reference implementations and data sets."""
