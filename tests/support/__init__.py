"""What the tests share: sample messages, stand-in peers, harnesses for one service's logic, and helpers that
play the embedded default or the sandbox. Real servers come from the `healer_common.testing` plugin.
"""
