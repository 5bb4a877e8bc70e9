"""A small web app for the interactive-app tests: it serves under $RPC_BASE_PATH on
$HOST:$PORT and answers only requests that carry its secret (Authorization: token
$RPC_APP_TOKEN, which the proxy adds). Never prints the secret."""

import hashlib
import os

from tornado import ioloop, web, websocket

BASE = os.environ["RPC_BASE_PATH"]
TOKEN = os.environ["RPC_APP_TOKEN"]
BIG = 50 * 1024 * 1024


def big_chunks():
    block = hashlib.sha256(b"jupyter-rpc").digest() * 2048  # 64 KiB
    for _ in range(BIG // len(block)):
        yield block


class Base(web.RequestHandler):
    def prepare(self):
        if self.request.headers.get("Authorization") != f"token {TOKEN}":
            raise web.HTTPError(403)

    def check_xsrf_cookie(self):
        return


class Index(Base):
    def get(self):
        self.write(
            f'<html><body><a id="rel" href="page">relative</a>'
            f'<a id="abs" href="{BASE}page">absolute</a></body></html>'
        )


class Page(Base):
    def get(self):
        self.write("the page")


class Echo(Base):
    def post(self):
        self.set_header("Content-Type", "application/octet-stream")
        self.write(self.request.body)


@web.stream_request_body
class Digest(Base):
    """POST: the body's size and SHA-256, read as it arrives (up to 1 GB)."""

    def prepare(self):
        super().prepare()
        self.request.connection.set_max_body_size(1 << 30)
        self.digest, self.size = hashlib.sha256(), 0

    def data_received(self, chunk):
        self.digest.update(chunk)
        self.size += len(chunk)

    def post(self):
        self.write({"size": self.size, "sha256": self.digest.hexdigest()})


class Headers(Base):
    def get(self):
        names = sorted(k.lower() for k in self.request.headers)
        cookies = sorted(self.request.cookies)
        self.write({"headers": names, "cookies": cookies, "path": self.request.path})


class Go(Base):
    def get(self):
        self.redirect(f"{BASE}page")


class Big(Base):
    async def get(self):
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Length", str(BIG))
        for block in big_chunks():
            self.write(block)
            await self.flush()


class Echo_ws(websocket.WebSocketHandler):
    def prepare(self):
        if self.request.headers.get("Authorization") != f"token {TOKEN}":
            raise web.HTTPError(403)

    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


app = web.Application(
    [
        (BASE, Index),
        (BASE + "page", Page),
        (BASE + "echo", Echo),
        (BASE + "headers", Headers),
        (BASE + "digest", Digest),
        (BASE + "go", Go),
        (BASE + "big", Big),
        (BASE + "ws", Echo_ws),
    ]
)
app.listen(int(os.environ["PORT"]), os.environ["HOST"])
ioloop.IOLoop.current().start()
