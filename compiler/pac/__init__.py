"""pac: build personal audio classifiers for MIT App Inventor.

A clip travels top-down through these modules:

``audio``      WAV bytes -> mono float64 samples at the file's own rate
``features``   samples -> the 224x224 spectrogram image MobileNet sees
``base``       MobileNet v1 0.25 (TF.js weights) truncated at ``conv_pw_13_relu``
``head``       the small classifier trained on the base's activations
``modeldir``   the trained model on disk (TF.js head + ``pac.json`` manifest)
``cli``        the ``pac`` command
"""

__version__ = "0.1.0"
