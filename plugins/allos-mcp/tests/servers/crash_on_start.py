"""An MCP server that fails before it answers anything (a missing setting, say)."""

import sys

print("boom: TRACKER_URL is not configured", file=sys.stderr, flush=True)
sys.exit(2)
