"""The audio side: per-clip features, patchify, the SLAP ViT encoder, the ESPnet-encoder adapter."""
