"""The gridcase benchmark harness (`python -m tests.bench`): raw baselines and the pipeline,
measured in one run; see __main__.py. Not collected by pytest (no test_ files here)."""
