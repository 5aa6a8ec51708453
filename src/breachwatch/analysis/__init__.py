"""Analysis of dumps and breaches: triage of a claimed leak, fabrication signals, claims, overlap, number
types, reports and charts, and region reference data."""
