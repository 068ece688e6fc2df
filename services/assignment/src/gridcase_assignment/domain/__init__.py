"""Assignment's pure logic: routing, calendar, SLA, duplicates, the escalation ladder."""
