"""What the server keeps across sessions: networks and their tables, finished maps, and each session's training copy."""
