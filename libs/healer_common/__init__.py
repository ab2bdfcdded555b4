"""Healer's shared contract: message models, subjects, streams, settings and the one service runner.

Every service imports what it shares from here and defines nothing of the contract itself.
"""
