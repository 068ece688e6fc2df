"""Intake's adapters: MongoDB (case views, Idempotency-Keys, photos) and test fakes."""
