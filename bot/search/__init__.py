"""A question -> ranked chunks: what the question names and asks, searched by meaning and by words."""
