"""The trainer (ESPnet's Trainer for SLAP runs) and the run's optimizer-step count."""
