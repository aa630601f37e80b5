"""Which weights a network can run with, and where they come from.

``catalogue`` describes every choice from metadata alone (labels, class names, preprocessing,
the file it lives in); ``hub`` downloads and reads torchvision's files in torch.hub's cache;
``digit_checkpoints`` holds the digit-trained weights that ship in ``checkpoints/``; ``uploads``
reads a user's state dict safely; ``loading`` builds a network holding a choice.
"""
