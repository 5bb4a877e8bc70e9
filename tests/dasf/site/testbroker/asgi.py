"""ASGI application of the test broker: Django for HTTP, dasf_broker's consumers for websockets."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testbroker.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

http_app = get_asgi_application()  # sets Django up before the imports below

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from dasf_broker.routing import websocket_urlpatterns  # noqa: E402
from dasf_broker.token_auth_middleware import TokenAuthMiddlewareStack  # noqa: E402

# "Authorization: Token <key>" (or "Bearer <key>") selects the user; without a valid
# token the connection is anonymous.
application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": TokenAuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
