"""Parts that belong to one page each (the page named first in each module's docstring)."""
