"""Convolution and pooling worked out by hand on small grids, checked against PyTorch, with their inputs and figures.
"""
