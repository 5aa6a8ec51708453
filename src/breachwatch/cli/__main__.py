"""`python -m breachwatch.cli`."""

from . import main

main()
