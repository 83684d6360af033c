"""The configuration: YAML loaded and validated (every problem at once) into typed settings."""
