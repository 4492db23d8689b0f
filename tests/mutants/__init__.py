"""Hand-written mutants of every method and the test run that must kill each (``run.py``)."""
