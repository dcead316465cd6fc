"""The caption decoder (L_CAP): model, decoding session, greedy and beam search."""
