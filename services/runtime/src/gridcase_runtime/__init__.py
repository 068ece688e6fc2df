"""Shared runtime of the gridcase services."""
