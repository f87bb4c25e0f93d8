"""Assistance that runs on this machine: reading photos, suggesting reasons, the learned risk model."""
