"""The contrastive losses (L_CLAP): InfoNCE, sigmoid, their shared clamped logit scale."""
