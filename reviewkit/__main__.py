"""`python -m reviewkit`: the same as the `reviewkit` command."""

from reviewkit.cli import main

main()
