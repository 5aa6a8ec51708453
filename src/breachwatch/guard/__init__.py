"""Guard the lookup API: rate limits, enumeration detection, audit log, traffic simulation."""
