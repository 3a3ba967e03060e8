"""The ceiling: a Flask hello-world route, served by the same gunicorn configuration.

gunicorn -c servers/discovery/gunicorn.conf.py --chdir benches/discovery hello:app
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}
