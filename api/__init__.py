"""cinderblock api package."""
