"""The worker process: consumes jobs and runs the executor."""
