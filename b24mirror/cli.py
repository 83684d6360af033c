"""Command-line entry point (placeholder until the CLI frame lands)."""
import sys


def main() -> None:
    sys.exit(2)
