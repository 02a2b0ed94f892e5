"""Limits of the shell_exec tool (a module of constants, so the tool loads without asyncio)."""

#: bytes of stdout and of stderr kept per call (the start and the end)
DEFAULT_OUTPUT_LIMIT = 30_000
#: bounds of the shell_exec ``timeout`` argument, in seconds
MAX_TIMEOUT = 3600
DEFAULT_TIMEOUT = 120
