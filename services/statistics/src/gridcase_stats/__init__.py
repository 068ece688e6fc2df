"""gridcase statistics service."""
