"""The ``allos`` command line (click + rich). Only a consumer of the public library API."""
