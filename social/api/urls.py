"""Included at /api/v1/ after the workbooks router, whose routes (`workbooks/{pk}/` and its actions)
never match these longer paths."""

from django.urls import path

from . import cards, collections, views

urlpatterns = [
    path("users/", views.MemberSearchView.as_view(), name="api-users"),
    path("users/<str:username>/", views.ProfileView.as_view(), name="api-user"),
    path(
        "users/<str:username>/workbooks/",
        views.MemberWorkbooksView.as_view(),
        name="api-user-workbooks",
    ),
    path(
        "users/<str:username>/favorites/",
        views.MemberFavoritesView.as_view(),
        name="api-user-favorites",
    ),
    path(
        "users/<str:username>/followers/", views.FollowersView.as_view(), name="api-user-followers"
    ),
    path(
        "users/<str:username>/following/", views.FollowingView.as_view(), name="api-user-following"
    ),
    path("users/<str:username>/follow/", views.FollowView.as_view(), name="api-user-follow"),
    path("users/<str:username>/block/", views.BlockView.as_view(), name="api-user-block"),
    path("me/favorited/", cards.FavoritedView.as_view(), name="api-me-favorited"),
    path("me/blocks/", views.MyBlocksView.as_view(), name="api-me-blocks"),
    path("feed/", views.FeedView.as_view(), name="api-feed"),
    path("notifications/", views.NotificationListView.as_view(), name="api-notifications"),
    path("notifications/read/", views.MarkReadView.as_view(), name="api-notifications-read"),
    path(
        "workbooks/<int:pk>/favorite/", views.FavoriteView.as_view(), name="api-workbook-favorite"
    ),
    path(
        "workbooks/<int:pk>/comments/",
        views.CommentListView.as_view(),
        name="api-workbook-comments",
    ),
    path("comments/<int:pk>/", views.CommentView.as_view(), name="api-comment"),
    path(
        "users/<str:username>/collections/",
        collections.MemberCollectionsView.as_view(),
        name="api-user-collections",
    ),
    path("collections/", collections.CollectionListView.as_view(), name="api-collections"),
    path("collections/<int:pk>/", collections.CollectionView.as_view(), name="api-collection"),
    path(
        "collections/<int:pk>/workbooks/<int:workbook_id>/",
        collections.CollectionWorkbookView.as_view(),
        name="api-collection-workbook",
    ),
    path(
        "collections/<int:pk>/order/",
        collections.CollectionOrderView.as_view(),
        name="api-collection-order",
    ),
]
