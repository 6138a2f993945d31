"""The chat web app: `python app.py` (or `newsbot serve`). Settings come from NEWSBOT_* variables."""

from bot.settings import load_settings
from bot.ui import serve

if __name__ == "__main__":
    serve(load_settings())
