"""Assignment's adapters: the Mongo repository and the seed files."""
