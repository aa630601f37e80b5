"""Pictures on their way into a network: decoding and preparing images, samples, drawn digits, scans and scoreboard digits.
"""
