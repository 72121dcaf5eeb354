import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from orchestrator.heap import freeze_startup_objects  # noqa: E402
from orchestrator.routing import websocket_urlpatterns  # noqa: E402
from orchestrator.static_files import SafeStaticFilesHandler  # noqa: E402
from orchestrator.ws_origin import SameOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        # daphne serves static files itself (whatever DEBUG is): no collectstatic step, no second server.
        "http": SafeStaticFilesHandler(django_asgi_app),
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
# Everything above lives as long as the server: out of the garbage collector's full passes (heap.py).
freeze_startup_objects()
