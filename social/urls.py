from django.urls import include, path

from . import collection_views, email_views, views

app_name = "social"

# One collection's page and its owner's forms, under the address that names the collection.
collection_patterns = [
    path("", collection_views.collection, name="collection"),
    path("edit/", collection_views.collection_edit, name="collection-edit"),
    path("delete/", collection_views.collection_delete, name="collection-delete"),
    path("move/", collection_views.collection_move, name="collection-move"),
    path("remove/", collection_views.collection_remove, name="collection-remove"),
]

urlpatterns = [
    path("u/<str:username>/follow/", views.follow, name="follow"),
    path("u/<str:username>/followers/", views.followers, name="followers"),
    path("u/<str:username>/following/", views.following, name="following"),
    path("u/<str:username>/block/", views.block, name="block"),
    path("blocked/", views.blocked, name="blocked"),
    path("u/<str:username>/favorites/", views.favorites, name="favorites"),
    path("w/<slug:slug>/favorite/", views.favorite, name="favorite"),
    path("w/<slug:slug>/comments/", views.comment_add, name="comment-add"),
    path("comments/<int:pk>/edit/", views.comment_edit, name="comment-edit"),
    path("comments/<int:pk>/delete/", views.comment_delete, name="comment-delete"),
    path("feed/", views.feed, name="feed"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("notifications/muted/", views.notifications_muted, name="notifications-muted"),
    path("settings/email-choices/", email_views.email_preferences, name="email-preferences"),
    path("email/unsubscribe/<str:token>/", email_views.unsubscribe, name="unsubscribe"),
    path("collections/", collection_views.featured, name="collections-featured"),
    path("collections/new/", collection_views.collection_new, name="collection-new"),
    path(
        "u/<str:username>/collections/",
        collection_views.member_collections,
        name="collections",
    ),
    path("u/<str:username>/c/<slug:slug>/", include(collection_patterns)),
    path("w/<slug:slug>/collect/", collection_views.collect, name="collect"),
    path(
        "w/<slug:slug>/collections/",
        collection_views.workbook_collections,
        name="workbook-collections",
    ),
    path(
        "feeds/u/<str:username>/c/<slug:slug>/",
        collection_views.CollectionFeed(),
        name="collection-feed",
    ),
]
