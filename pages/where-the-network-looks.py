"""The address /where-the-network-looks on a freshly started server: runs app.py (see pages/first_visit.py)."""
from pages.first_visit import run_app

run_app()
