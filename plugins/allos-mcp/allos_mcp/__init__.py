"""allos-mcp placeholder."""
