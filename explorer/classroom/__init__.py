"""What one server shares with a whole class: the training-memory budget, and classes that follow a teacher.
"""
