"""HTTP API and the process entry point."""
