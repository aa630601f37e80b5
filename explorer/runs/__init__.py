"""Real forward and backward passes: capturing every layer's output, and training a private copy.
"""
