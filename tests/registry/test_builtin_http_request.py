"""http.request against a real server on 127.0.0.1.

That server is on a loopback address, which the guard refuses by default:
the tests that reach it allow private addresses explicitly.
"""

import json
import threading

import pytest

from registry.catalog import ComponentError
from registry.netguard import AddressRefused
from tests.registry import builtin, reply, serve


@pytest.fixture
def allow_private(settings):
    settings.OAWEB_HTTP_ALLOW_PRIVATE = True


@pytest.fixture
def refuse_private(settings):
    settings.OAWEB_HTTP_ALLOW_PRIVATE = False


def request(**inputs):
    return builtin("http.request")(**inputs)


def hello(handler):
    reply(handler, body=b'{"hello": "world"}', content_type="application/json", headers={"X-Test": "yes"})


def test_get_from_a_local_server_when_private_addresses_are_allowed(allow_private):
    with serve(hello) as server:
        result = request(url=server.url + "/greeting")

    assert result["status"] == 200
    assert result["json"] == {"hello": "world"}
    assert result["text"] == '{"hello": "world"}'
    assert result["headers"]["x-test"] == "yes"
    assert result["url"] == server.url + "/greeting"
    assert [(seen.method, seen.path) for seen in server.seen] == [("GET", "/greeting")]


def test_local_server_is_refused_without_the_setting(refuse_private):
    with serve(hello) as server:
        with pytest.raises(AddressRefused, match="127.0.0.1: it is a loopback address.*OAWEB_HTTP_ALLOW_PRIVATE"):
            request(url=server.url)

    assert server.seen == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/", "a private address"),
        ("http://192.168.1.1:8080/", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://[::1]/", "a loopback address"),
        ("http://localhost/", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "a loopback address"),
    ],
)
def test_private_addresses_are_refused_before_connecting(refuse_private, url, reason):
    with pytest.raises(AddressRefused, match=reason):
        request(url=url, timeout=5)


def test_post_sends_json_query_parameters_and_headers(allow_private):
    with serve(hello) as server:
        request(
            url=server.url + "/items?a=1",
            method="post",
            params={"b": 2, "c": ["x", "y"]},
            headers={"X-Token": "t0k"},
            json={"name": "widget"},
        )

    [seen] = server.seen
    assert (seen.method, seen.path) == ("POST", "/items?a=1&b=2&c=x&c=y")
    assert seen.headers["X-Token"] == "t0k"
    assert seen.headers["Content-Type"] == "application/json"
    assert json.loads(seen.body) == {"name": "widget"}


def test_body_is_sent_as_text(allow_private):
    with serve(hello) as server:
        request(url=server.url, method="PUT", body="plain words")

    assert server.seen[0].body == b"plain words"


def test_json_and_body_together_are_refused():
    with pytest.raises(ComponentError, match="not both"):
        request(url="http://example.com/", json={"a": 1}, body="a")


def test_a_response_that_is_not_json_has_json_null(allow_private):
    with serve(lambda handler: reply(handler, body=b"<p>hi</p>", content_type="text/html")) as server:
        result = request(url=server.url)

    assert result["text"] == "<p>hi</p>"
    assert result["json"] is None


@pytest.mark.parametrize("url", ["ftp://example.com/file", "file:///etc/passwd", "gopher://example.com/", "/relative"])
def test_only_http_and_https_urls_are_allowed(url):
    with pytest.raises(ComponentError, match="only http and https URLs"):
        request(url=url)


def redirecting(handler):
    """/hop/N redirects to /hop/N-1; /hop/0 answers; /to?url=U redirects to U."""
    if handler.path.startswith("/to?url="):
        target = handler.path.removeprefix("/to?url=")
        return reply(handler, status=302, headers={"Location": target})
    hops = int(handler.path.rsplit("/", 1)[1])
    if hops == 0:
        return reply(handler, body=b"arrived")
    reply(handler, status=302, headers={"Location": f"/hop/{hops - 1}"})


def test_redirects_are_followed(allow_private):
    with serve(redirecting) as server:
        result = request(url=server.url + "/hop/3")

    assert (result["status"], result["text"]) == (200, "arrived")
    assert result["url"] == server.url + "/hop/0"
    assert len(server.seen) == 4


def test_more_than_five_redirects_fail(allow_private):
    with serve(redirecting) as server:
        assert request(url=server.url + "/hop/5")["text"] == "arrived"
        with pytest.raises(ComponentError, match="more than 5 redirects"):
            request(url=server.url + "/hop/6")


def test_each_redirect_hop_is_checked_by_the_guard(allow_private):
    """The first hop is allowed; the address it redirects to is refused even so."""
    with serve(redirecting) as server:
        with pytest.raises(AddressRefused, match="0.0.0.0: it is an unspecified address"):
            request(url=server.url + "/to?url=http://0.0.0.0:9/")

    assert len(server.seen) == 1


def test_a_redirect_to_another_scheme_is_refused(allow_private):
    with serve(redirecting) as server:
        with pytest.raises(ComponentError, match="only http and https URLs"):
            request(url=server.url + "/to?url=file:///etc/passwd")


def test_a_response_over_the_size_limit_is_refused(allow_private, settings):
    settings.OAWEB_HTTP_MAX_BYTES = 1000
    with serve(lambda handler: reply(handler, body=b"x" * 1001)) as server:
        with pytest.raises(ComponentError, match="larger than 1000 bytes"):
            request(url=server.url)


def test_a_response_at_the_size_limit_is_read(allow_private, settings):
    settings.OAWEB_HTTP_MAX_BYTES = 1000
    with serve(lambda handler: reply(handler, body=b"x" * 1000)) as server:
        assert len(request(url=server.url)["text"]) == 1000


def test_the_size_limit_holds_while_streaming_a_body_of_unknown_length(allow_private, settings):
    settings.OAWEB_HTTP_MAX_BYTES = 1000

    def endless(handler):
        # HTTP/1.0 without Content-Length: the body runs until the server closes.
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.end_headers()
        try:
            for _ in range(10_000):
                handler.wfile.write(b"y" * 100)
        except OSError:
            pass  # the client stopped reading, as it should

    with serve(endless) as server:
        with pytest.raises(ComponentError, match="larger than 1000 bytes"):
            request(url=server.url)


def test_a_slow_server_times_out(allow_private):
    release = threading.Event()

    def stalls(handler):
        release.wait(30)

    with serve(stalls) as server:
        try:
            with pytest.raises(ComponentError, match="timed out after 0.2 s"):
                request(url=server.url, timeout=0.2)
        finally:
            release.set()


def test_the_default_timeout_comes_from_settings(allow_private, settings):
    settings.OAWEB_HTTP_TIMEOUT = 0.2
    release = threading.Event()

    with serve(lambda handler: release.wait(30)) as server:
        try:
            with pytest.raises(ComponentError, match="timed out after 0.2 s"):
                request(url=server.url)
        finally:
            release.set()


def not_found(handler):
    reply(handler, status=404, body=b"no such   thing\n" + b"z" * 1000)


def test_an_error_status_fails_with_the_status_and_an_excerpt(allow_private):
    with serve(not_found) as server:
        with pytest.raises(ComponentError, match="returned HTTP 404: no such thing zzz") as caught:
            request(url=server.url + "/gone")

    assert len(str(caught.value)) < 400


def test_an_error_status_is_returned_when_fail_on_error_is_off(allow_private):
    with serve(not_found) as server:
        result = request(url=server.url, fail_on_error=False)

    assert result["status"] == 404
    assert result["text"].startswith("no such")
