from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("workbooks", views.WorkbookViewSet, basename="api-workbook")

urlpatterns = [
    *router.urls,
    path("tags/", views.TagListView.as_view(), name="api-tags"),
    path("featured/", views.FeaturedListView.as_view(), name="api-featured"),
]
