"""Serving answers: the HTTP API, the Gradio chat and its tabs, the widget, and what guards every route."""
