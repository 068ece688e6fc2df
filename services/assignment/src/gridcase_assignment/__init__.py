"""gridcase assignment service."""
