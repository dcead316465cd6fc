"""ESPnet2 tasks: `SLAPTask`."""
