"""Intake's pure logic: report validation, idempotency rules, the case projection, Open311
mapping and rate limiting. No Kafka, no motor."""
