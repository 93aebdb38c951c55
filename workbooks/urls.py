from django.urls import path

from . import beacons, feeds, views

app_name = "workbooks"

urlpatterns = [
    path("explore/", views.explore, name="explore"),
    path("w/new/", views.publish, name="publish"),
    path("w/<slug:slug>/", views.detail, name="detail"),
    path("w/<slug:slug>/edit/", views.edit, name="edit"),
    path("w/<slug:slug>/thumbnail/", views.thumbnail, name="thumbnail"),
    path("w/<slug:slug>/delete/", views.delete, name="delete"),
    path("w/<slug:slug>/pin/", views.pin, name="pin"),
    path("w/<slug:slug>/embed-outcome/", beacons.embed_outcome, name="embed-outcome"),
    path("tags/<slug:slug>/", views.tag, name="tag"),
    path("u/<str:username>/", views.author, name="author"),
    path("u/<str:username>/drafts/", views.drafts, name="drafts"),
    path("feeds/latest/", feeds.LatestWorkbooksFeed(), name="feed-latest"),
    path("feeds/tags/<slug:slug>/", feeds.TagFeed(), name="feed-tag"),
    path("feeds/u/<str:username>/", feeds.AuthorFeed(), name="feed-author"),
    path("_standin/sigma/<str:sigma_id>/", views.standin, name="standin"),
]
