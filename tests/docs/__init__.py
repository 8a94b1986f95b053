"""The documentation's code samples, run: every fenced block of README.md and docs/*.md.

Each block is preceded in the Markdown source by ``<!-- sample: NAME -->``
(a test claims it with :func:`tests.docs.markdown.sample`) or by
``<!-- not-run: reason -->``; ``test_samples.py`` fails on any other block.
"""
