"""What a network is, worked out from its shapes alone: the layer table, parameters, the comparison, the diagram's graph.

Nothing here runs a real forward pass: every analysis traces a shape-only model on PyTorch's meta device.
"""
