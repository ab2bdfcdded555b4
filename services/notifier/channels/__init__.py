"""Delivery channels, one module each: `async send(notification)`; raising means "try again later"."""
