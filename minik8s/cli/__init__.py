"""The `minik8s` command line."""
