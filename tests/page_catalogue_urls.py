"""The site's URLs, plus the catalogue's three that raise on purpose (tests.page_catalogue)."""

from sigma_playground.urls import handler400, handler403, handler404, handler500
from tests.page_catalogue import urlpatterns as _catalogue_urlpatterns

urlpatterns = _catalogue_urlpatterns()

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
