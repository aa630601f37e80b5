"""The ground floor: errors, the registry of architectures, input sizes, devices, memory and shape-only models.

Everything else in ``explorer`` stands on these modules; they import nothing from the rooms above.
"""
