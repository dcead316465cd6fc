"""Text encoders (Hugging Face) and the caption tokenizer."""
