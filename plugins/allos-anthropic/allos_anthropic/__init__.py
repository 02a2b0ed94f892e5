"""allos-anthropic: Allos plugin (work in progress; registers nothing yet)."""

__version__ = "0.1.0"
