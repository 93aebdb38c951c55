from django.urls import path

from . import views

app_name = "media"

urlpatterns = [
    path("settings/avatar/", views.avatar, name="avatar"),
    path("w/<slug:slug>/thumbnail/", views.thumbnail, name="thumbnail"),
]
