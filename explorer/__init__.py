"""CNN Architecture Explorer: the library behind the app and the command line.

Pure Python and PyTorch; it never imports streamlit, so every analysis the app
shows can also be run, tested and benchmarked from the command line.
"""
