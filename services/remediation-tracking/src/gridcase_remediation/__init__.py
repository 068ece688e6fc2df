"""gridcase remediation-tracking service."""
