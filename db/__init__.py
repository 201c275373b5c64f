"""cinderblock db package."""
