"""gridcase intake service."""
