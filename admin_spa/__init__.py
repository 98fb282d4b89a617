"""The operator console: ``api`` is its Flask API, ``web`` its Vue source, ``spa`` serves
the build."""
