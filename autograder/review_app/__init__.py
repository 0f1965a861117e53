"""The review web app: an instructor goes through a graded class's written answers question
by question, in groups of answers that make the same point, and through every other check
that asked for a person; each decision is merged into the class like ``autograder review``.

``queue`` reads a graded output folder into what the pages show, ``decisions`` validates
and stores a decision, ``server`` serves the pages (``autograder review --serve DIR``).
"""
