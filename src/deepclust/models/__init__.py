"""Autoencoders and their pretraining."""
