"""Code that runs in the jailed processes or sets up their jail; it imports nothing of ``autograder``."""
