"""The one exception type whose message is meant for a person, not a developer.

Anything a user can get wrong (a size, a file, a learning rate) is raised as a
``UserError`` whose text is a single plain sentence. The app and the command line
show that sentence as it is; every other exception is a bug.
"""


class UserError(ValueError):
    """A request the user can fix; ``str(error)`` is one plain sentence."""
