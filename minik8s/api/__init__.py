"""Object model and the shared vocabulary of the component seam (errors, clock, NodeHandle)."""
