"""cinderblock volume_agent package."""
