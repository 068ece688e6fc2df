"""gridcase intake service: volunteers' reports (native API and Open311) become CaseReported
events, acknowledged by Kafka before the client hears "201"."""
