"""Test support for the report and export commands: a shared store, and headless Chromium."""
