"""Pages answer an htmx swap with their fragment, and a history restore with the whole page."""

import pytest
from django.urls import reverse

PAGES = ["run-list", "workflow-list", "component-list", "worker-list", "metrics-page"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_a_swap_gets_the_fragment_and_a_history_restore_the_page(owner_client, name):
    url = reverse(name)
    page = owner_client.get(url).content.decode()
    swap = owner_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    restore = owner_client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true").content.decode()

    assert "<html" in page and "<html" not in swap
    assert "<html" in restore
