"""The web app: HTTP API and pages over the library (the only package that imports the web framework)."""
