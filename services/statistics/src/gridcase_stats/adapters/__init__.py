"""Kafka (faust and plain), Prometheus, charts and CSV."""
