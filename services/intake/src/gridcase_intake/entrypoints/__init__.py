"""HTTP (native API and Open311) and the event consumer."""
