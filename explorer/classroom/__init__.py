"""What one server shares with a whole class: the training-memory budget, and classes that follow a teacher.

``budget``: the server's training copies under one memory budget. ``codes``: class codes and
the teacher's secret. ``store`` / ``redis_store``: where classes live (this process, or Redis
for several replicas). ``classes``: the rules of a class. ``results``: results shared safely.
"""
