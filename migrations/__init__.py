"""cinderblock migrations package."""
