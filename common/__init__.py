"""cinderblock common package."""
