"""Pictures of results: pure functions from data (DataFrames, arrays, captures) to plotly figures, images and DOT.
"""
