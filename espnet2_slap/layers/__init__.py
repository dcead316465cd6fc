"""Building blocks: packed batches, attention backends, 2D RoPE, SwiGLU, blocks, MAP pooling."""
