"""The web layer (Starlette): the only package that imports the web framework."""
