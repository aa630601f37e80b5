"""The command line (``python -m explorer``): the same analyses as the app, printed as text or JSON.
"""
