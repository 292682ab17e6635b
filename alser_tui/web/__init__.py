"""The guard's web view and /metrics (``[web] listen``): server.py serves, view.py builds
what the page shows from the console's own model, metrics.py the Prometheus text."""
