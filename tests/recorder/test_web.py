"""The web middlewares with the real frameworks: Flask (WSGI), Starlette/FastAPI (ASGI) and
Django, each through its own test client, and Django behind a threaded server."""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import urllib.request
from pathlib import Path

import pytest

import callscope
from callscope._web import session_file_name
from conftest import busy, thread_totals


def render_orders() -> str:
    busy(0.08)
    return "orders page"


def render_invoice() -> str:
    busy(0.08)
    return "invoice page"


SESSION = re.compile(r'<script type="application/octet-stream" id="callscope-session">([^<]*)</script>')


def is_report(body: str) -> bool:
    """Whether ``body`` is a report, checked by loading the session it carries."""
    match = SESSION.search(body)
    return bool(match) and callscope.Session.from_bytes(base64.b64decode(match[1])).sample_count > 0


def report_totals(body: str):
    return thread_totals(callscope.Session.from_bytes(base64.b64decode(SESSION.search(body)[1])))


def saved_sessions(directory: Path):
    return sorted(directory.glob("*.pyisession"))


def totals_of(path: Path):
    return thread_totals(callscope.Session.load(str(path)))


def test_session_file_names_are_sortable_and_safe():
    name = session_file_name("get", "/orders/42/../<x>", when=1_700_000_000.25)
    assert name.endswith("-GET-orders_42_.._x.pyisession"), name
    assert name[:8].isdigit() and ".250-" in name
    assert "/" not in session_file_name("POST", "/", when=0).replace(".pyisession", "")
    assert "root" in session_file_name("GET", "/", when=0)


# --- Flask / WSGI -------------------------------------------------------------------------


def flask_app(**options):
    from flask import Flask

    from callscope.wsgi import ProfilerMiddleware

    app = Flask("orders")

    @app.route("/orders")
    def orders():
        return render_orders()

    @app.route("/stream")
    def stream():
        def chunks():
            yield "a"
            busy(0.05)
            yield "b"

        return app.response_class(chunks())

    app.wsgi_app = ProfilerMiddleware(app.wsgi_app, **options)
    return app


def test_flask_profile_argument_returns_the_report_of_that_request():
    client = flask_app().test_client()
    plain = client.get("/orders")
    assert plain.get_data(as_text=True) == "orders page"
    profiled = client.get("/orders?profile")
    body = profiled.get_data(as_text=True)
    assert profiled.status_code == 200
    assert profiled.headers["Content-Type"].startswith("text/html")
    assert report_totals(body)["MainThread"]["render_orders"] > 0.03
    assert "orders page" not in body


def test_flask_allow_callback_decides_who_gets_a_report():
    client = flask_app(allow=lambda environ: environ.get("HTTP_X_DEV") == "yes").test_client()
    assert client.get("/orders?profile").get_data(as_text=True) == "orders page"
    assert is_report(client.get("/orders?profile", headers={"X-Dev": "yes"}).get_data(as_text=True))


def test_flask_profile_dir_keeps_every_request_including_streamed_bodies(tmp_path):
    client = flask_app(profile_dir=str(tmp_path)).test_client()
    # A WSGI server closes the body once it is sent; the profile ends there.
    for route, body in (("/orders", "orders page"), ("/stream", "ab")):
        with client.get(route) as response:
            assert response.get_data(as_text=True) == body
    files = saved_sessions(tmp_path)
    assert [f.name.split("-", 1)[1] for f in files] == ["GET-orders.pyisession", "GET-stream.pyisession"]
    orders = totals_of(files[0])["MainThread"]
    assert orders["render_orders"] > 0.03, orders
    # The generator's work happens while the server sends the body: it is in the profile.
    assert totals_of(files[1])["MainThread"]["chunks"] > 0.02


# --- Starlette / FastAPI / ASGI -----------------------------------------------------------


def fastapi_app(**options):
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    from callscope.asgi import ProfilerMiddleware

    app = FastAPI()

    @app.get("/orders", response_class=PlainTextResponse)
    async def orders():
        await asyncio.sleep(0.1)
        return render_orders()

    @app.get("/invoice", response_class=PlainTextResponse)
    def invoice():  # a sync route: FastAPI runs it in a worker thread
        return render_invoice()

    app.add_middleware(ProfilerMiddleware, **options)
    return app


def test_fastapi_async_and_sync_routes_show_their_work(tmp_path):
    from fastapi.testclient import TestClient

    with TestClient(fastapi_app(profile_dir=str(tmp_path))) as client:
        assert client.get("/orders").text == "orders page"
        assert client.get("/invoice").text == "invoice page"
        report = client.get("/invoice?profile")
    assert is_report(report.text) and report.headers["content-type"].startswith("text/html")
    files = saved_sessions(tmp_path)
    assert [f.name.split("-", 2)[2] for f in files] == ["orders.pyisession"] + ["invoice.pyisession"] * 2
    orders = totals_of(files[0])
    loop = next(t for t in orders.values() if t.get("render_orders", 0) > 0.03)
    # async_mode="enabled": the route's await shows as the route waiting, not the loop.
    assert loop.get("[await]", 0) > 0.05 and loop["orders"] > 0.13, loop
    # The sync route ran on a worker thread, not on the event loop's: it shows there.
    invoice = totals_of(files[1])
    workers = [t for t in invoice.values() if t.get("render_invoice", 0) > 0.03]
    assert workers and workers[0].get("invoice", 0) > 0.03, invoice


def test_asgi_allow_callback_and_other_scopes_pass_through():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from callscope.asgi import ProfilerMiddleware

    async def home(request):
        return PlainTextResponse(render_orders())

    app = ProfilerMiddleware(
        Starlette(routes=[Route("/", home)]),
        allow=lambda scope: dict(scope["headers"]).get(b"x-dev") == b"yes",
    )
    with TestClient(app) as client:  # lifespan messages go through untouched
        assert client.get("/?profile").text == "orders page"
        assert is_report(client.get("/?profile", headers={"X-Dev": "yes"}).text)


# --- Django -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def django_site(tmp_path_factory):
    import django
    from django.conf import settings

    profile_dir = tmp_path_factory.mktemp("django-profiles")
    if not settings.configured:
        settings.configure(
            DEBUG=True,
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF=__name__,
            SECRET_KEY="callscope-tests",
            MIDDLEWARE=["callscope.middleware.ProfilerMiddleware"],
            INSTALLED_APPS=[],
        )
        django.setup()
    return profile_dir


def django_orders(request):
    from django.http import HttpResponse

    return HttpResponse(render_orders())


def django_invoice(request):
    from django.http import HttpResponse

    return HttpResponse(render_invoice())


def _urls():
    from django.urls import path

    return [path("orders", django_orders), path("invoice", django_invoice)]


def __getattr__(name):  # ROOT_URLCONF reads `urlpatterns` from this module, lazily
    if name == "urlpatterns":
        return _urls()
    raise AttributeError(name)


def test_django_profile_argument_follows_debug_and_the_show_callback(django_site, settings_override):
    from django.test import Client

    client = Client()
    assert client.get("/orders").content == b"orders page"
    assert is_report(client.get("/orders?profile").content.decode())
    with settings_override(DEBUG=False):
        assert client.get("/orders?profile").content == b"orders page"
    # pyinstrument's setting name works too, given as an import path.
    with settings_override(DEBUG=False, PYINSTRUMENT_SHOW_CALLBACK=f"{__name__}.only_staff"):
        assert client.get("/orders?profile").content == b"orders page"
        assert is_report(client.get("/orders?profile", HTTP_X_STAFF="1").content.decode())


def only_staff(request) -> bool:
    return request.META.get("HTTP_X_STAFF") == "1"


def test_django_threaded_server_profiles_concurrent_requests_apart(django_site, settings_override):
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    with settings_override(CALLSCOPE_PROFILE_DIR=str(django_site), CALLSCOPE_INTERVAL=0.0005):
        # runserver's own server class, threaded as `manage.py runserver` runs it.
        class QuietHandler(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=True)
        server.daemon_threads = True
        server.set_app(WSGIHandler())
        serving = threading.Thread(target=server.serve_forever, daemon=True)
        serving.start()
        try:
            port = server.server_address[1]
            bodies = {}

            def get(route):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/{route}", timeout=30) as r:
                    bodies[route] = r.read()

            clients = [threading.Thread(target=get, args=(r,)) for r in ("orders", "invoice")]
            for c in clients:
                c.start()
            for c in clients:
                c.join()
        finally:
            server.shutdown()
            server.server_close()
    assert bodies == {"orders": b"orders page", "invoice": b"invoice page"}
    files = {f.name.split("-", 2)[2]: f for f in saved_sessions(django_site)}
    assert set(files) == {"orders.pyisession", "invoice.pyisession"}, files
    for route, mine, theirs in (("orders", "render_orders", "render_invoice"),
                                ("invoice", "render_invoice", "render_orders")):  # fmt: skip
        threads = totals_of(files[f"{route}.pyisession"])
        assert len(threads) == 1, threads  # the request's own thread only
        (t,) = threads.values()
        assert t[mine] > 0.03 and theirs not in t, (route, t)


@pytest.fixture
def settings_override():
    from django.test.utils import override_settings

    return override_settings
