"""REST method handlers, one module per area; each registers itself in dispatch.METHODS."""
