"""The commands around the engine: audit, repair, check (doctor), metrics."""
