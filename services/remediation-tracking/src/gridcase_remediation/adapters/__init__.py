"""Adapters: the Mongo case repository, and fakes for unit tests."""
