"""The bounded mixed load run (issue 6): ``python -m tests.load.mixed --seconds 60``."""
