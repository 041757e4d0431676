"""`python -m oee` runs the `oee` command line."""

from oee.cli.__main__ import main

main()
