"""The spectrogram feature pipeline: configuration, pure signal functions, and the clip -> image path."""

from .config import PROFILES, FeatureConfig, load_config

__all__ = ["FeatureConfig", "PROFILES", "load_config"]
