"""Shared core of the analytics reporter: everything the function folders call."""
