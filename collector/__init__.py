"""The collector: validate, authenticate, enqueue, answer. It owns nothing but its config."""
