"""The guard: the headless engine as a long-running service (``--no-ui``), what it
publishes to attached consoles and the web view, and its wire format. No Textual here."""
