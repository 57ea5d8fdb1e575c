"""The spectrogram feature pipeline: configuration, pure signal functions, and the clip -> image path."""

from .config import PROFILES, FeatureConfig, band_for_rates, load_config

__all__ = ["FeatureConfig", "PROFILES", "band_for_rates", "load_config"]
