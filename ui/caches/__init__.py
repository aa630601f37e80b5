"""What the server keeps across sessions: networks and their tables, finished maps, and each session's training copy.

Caches that every rerun reads are called with keywords and keyed by short strings: Streamlit looks each
positional argument's name up with ``inspect.signature`` on every call, and hashes a tuple element by
element (a call with six positional arguments: 0.15 ms against 0.05 ms with keywords; a key holding a
tuple of 64 channel numbers 0.3 ms against 0.06 ms as one string).
"""
