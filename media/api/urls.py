from django.urls import path

from . import views

urlpatterns = [
    path("me/avatar/", views.AvatarView.as_view(), name="api-avatar"),
    path("images/<uuid:pk>/", views.ImageView.as_view(), name="api-image"),
    path("uploads/", views.DirectUploadView.as_view(), name="api-uploads"),
    path(
        "uploads/<uuid:pk>/complete/",
        views.CompleteUploadView.as_view(),
        name="api-upload-complete",
    ),
]
