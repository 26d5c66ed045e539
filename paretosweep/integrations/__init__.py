"""Bridges from other training frameworks to paretosweep's `TrialContext`."""
