"""cinderblock scheduler package."""
