"""The analysis family behind analysis_pipeline.py:

    frames.py           the only module that decodes: samples in time order (PyAV)
    preprocess.py       a sample -> a model's input tensor, and input pixels back to the frame
    onnx_model.py       sessions, labels and input checks every kind of detector shares
    detectors.py        one loader per kind: classifier.py (scores), object_detector.py (boxes)
    threads.py          how many decoder, detector and onnxruntime threads one analysis starts
    report.py           flagged samples -> segments, the JSON report and the EDL
"""
