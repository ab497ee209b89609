"""Corrections to moto, per service: where moto differs from AWS, each a patch in the registry."""
