"""video-censor: analyse videos with ML models that are declared, locked and verified.

The data flows through one module per stage (see docs/architecture.md):

    config.py (models.toml) -> huggingface_registry.py (Hub metadata) -> lockfile.py (format)
    -> locking.py (resolve + lock) -> model_manager.py (plan / download / verify)
    -> fetch.py + cache.py (pooch, content-addressed store) -> analysis_pipeline.py
"""

__version__ = "0.1.0"
