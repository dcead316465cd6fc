"""SLAP (Scalable Language-Audio Pretraining) as an ESPnet2 plugin."""

__version__ = "0.1.0"
