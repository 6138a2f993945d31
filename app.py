"""The chat web app, HTTP API and widget on one port: `python app.py` (or `newsbot serve`). Settings come from
NEWSBOT_* variables."""

from bot.settings import load_settings
from bot.web.api import serve

if __name__ == "__main__":
    serve(load_settings())
