"""Deployment of trained SLAP models: ONNX export of both towers and a torch-free runtime."""
