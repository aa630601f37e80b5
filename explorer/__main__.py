"""``python -m explorer``: the command line over the same library the app uses (see ``explorer.cli.main``)."""

import sys

from explorer.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
