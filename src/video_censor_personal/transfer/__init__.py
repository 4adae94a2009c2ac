"""Moving bytes: sources in order (fetch.py) and the pooch-protocol transfers (downloaders.py).

model_manager.py is the face of this family: it plans and calls fetch only when bytes are missing.
"""
