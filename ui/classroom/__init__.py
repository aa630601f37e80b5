"""A class on the app side: the sidebar's class panel, this session's place in a class, the push, and following."""
