"""Small shared helpers: precision, distributed gathers, waveforms, model sources, files."""
