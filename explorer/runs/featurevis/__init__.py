"""Feature visualisation: a picture optimised to excite one unit, made the way Lucid made OpenAI Microscope's.

Three small parts composed by one loop (Olah, Mordvintsev & Schubert, "Feature
Visualization", Distill 2017): an image parameterisation (``param``), random
transformations the picture must survive (``transforms``), and an objective read
from the target layer (``target``); ``render`` runs them. ``examples`` finds the
corpus crops that excite the same unit most; ``cache`` and ``queue`` keep renders
cheap on a shared server.
"""
