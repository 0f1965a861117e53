"""Check types: small registered functions named in rubrics (see ``registry``)."""

from autograder.check_registry import Outcome, get_check, register, registered_checks

__all__ = ["Outcome", "get_check", "register", "registered_checks"]
