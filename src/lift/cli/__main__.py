"""`python -m lift.cli`."""

from lift.cli import main

main()
