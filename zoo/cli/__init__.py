"""The `lightning` and `zoo` commands, their one-line errors and typo hints, and the W&B logger."""
