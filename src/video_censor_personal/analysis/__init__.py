"""The analysis family behind analysis_pipeline.py: frame sampling (frames.py), ONNX models
(detectors.py) and the report with its segments (report.py).
"""
