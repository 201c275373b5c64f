"""Side-by-side benchmark of cinderblock and OpenStack Cinder on the same machine."""
