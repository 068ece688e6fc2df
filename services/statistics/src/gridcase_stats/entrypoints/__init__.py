"""HTTP API and command-line entry points."""
