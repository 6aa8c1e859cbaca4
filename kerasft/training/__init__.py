"""Training: compiling with sensible defaults and the two-phase fine-tuning recipe."""
