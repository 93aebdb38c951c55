from django.urls import path

from . import views

app_name = "social"

urlpatterns = [
    path("u/<str:username>/follow/", views.follow, name="follow"),
    path("u/<str:username>/followers/", views.followers, name="followers"),
    path("u/<str:username>/following/", views.following, name="following"),
    path("u/<str:username>/favorites/", views.favorites, name="favorites"),
    path("w/<slug:slug>/favorite/", views.favorite, name="favorite"),
    path("w/<slug:slug>/comments/", views.comment_add, name="comment-add"),
    path("comments/<int:pk>/edit/", views.comment_edit, name="comment-edit"),
    path("comments/<int:pk>/delete/", views.comment_delete, name="comment-delete"),
    path("feed/", views.feed, name="feed"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("notifications/muted/", views.notifications_muted, name="notifications-muted"),
]
