"""What one request may take from a server that a whole class shares.

Each limit is written once, here: the checks in ``explorer`` and the server's own
settings (``.streamlit/config.toml``, tied to these by a test) read the same numbers.
"""

# Streamlit's server.maxUploadSize = 25 in .streamlit/config.toml (its megabytes are MiB).
# Pictures and uploaded state dicts are both held to it.
UPLOAD_MIB = 25
UPLOAD_BYTES = UPLOAD_MIB * 1024 * 1024

# A single request whose estimated memory is larger than this would crowd out a class sharing one server.
REQUEST_MEMORY_BYTES = 4 * 1000**3
