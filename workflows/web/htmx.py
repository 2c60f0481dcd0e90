"""What an htmx request asks of a page view."""


def wants_fragment(request) -> bool:
    """True for an htmx swap (the view renders its fragment), False for a whole page.

    htmx restoring history after a cache miss sends HX-Request too, but wants
    the whole page: the fragment alone would replace the document.
    """
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")
