"""The contract every service agrees on: message models, subjects, streams, signals and their codec."""
