"""`python -m anchorwatch` runs the command line."""

from anchorwatch.cli import main

main()
