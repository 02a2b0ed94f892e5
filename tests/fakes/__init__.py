"""Local HTTP servers on 127.0.0.1 that speak the providers' wire protocols, for tests.

They are real HTTP servers driven through the official SDKs; each records the requests it got
and validates them the way the real API does, so a wrong mapping fails a test.
"""
