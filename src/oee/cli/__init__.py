"""The `oee` command line."""
