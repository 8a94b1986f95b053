"""The bounded mixed load run: ``python -m tests.load.mixed --seconds 60``."""
